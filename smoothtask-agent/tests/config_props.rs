//! Property tests of config loading: no input makes it panic, and the cpu weight rules are
//! exactly "each in 1..=10000, min <= max".

use proptest::prelude::*;
use smoothtask_agent::config::{
    ConfigError, EnvMap, WeightRange, config_keys, parse_config, var_name,
};

fn key() -> impl Strategy<Value = String> {
    let keys: Vec<String> = config_keys()
        .iter()
        .filter(|k| !k.contains("[]"))
        .cloned()
        .collect();
    proptest::sample::select(keys)
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        "[a-z0-9.:_\\-]{0,12}",
        Just("[1, 2]".to_string()),
        Just("{a: 1}".to_string()),
        Just("~".to_string()),
    ]
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_config(&text, "t.yml", &EnvMap::new());
    }

    #[test]
    fn any_key_with_any_value_gives_a_config_or_located_problems(k in key(), v in scalar()) {
        // As a file: nest the dotted key.
        let parts: Vec<&str> = k.split('.').collect();
        let mut text = String::new();
        for (depth, part) in parts.iter().enumerate() {
            text.push_str(&"  ".repeat(depth));
            text.push_str(part);
            text.push(':');
            if depth + 1 == parts.len() {
                text.push(' ');
                text.push_str(&v);
            }
            text.push('\n');
        }
        match parse_config(&text, "t.yml", &EnvMap::new()) {
            Ok(_) | Err(ConfigError::Syntax { .. }) => {}
            Err(ConfigError::Invalid { problems }) => prop_assert!(!problems.is_empty()),
            Err(other) => prop_assert!(false, "{other}"),
        }
        // As an environment override.
        let env: EnvMap = [(var_name(&k), v.clone())].into_iter().collect();
        match parse_config("", "t.yml", &env) {
            Ok(_) | Err(ConfigError::Invalid { .. }) => {}
            Err(other) => prop_assert!(false, "{other}"),
        }
    }

    #[test]
    fn weight_ranges_are_accepted_exactly_when_valid(a in -5i64..10_010, b in -5i64..10_010) {
        let text = format!("policy:\n  cpu_weight_range: [{a}, {b}]\n  classes: []\n");
        let result = parse_config(&text, "t.yml", &EnvMap::new());
        let valid = (1..=10_000).contains(&a) && (1..=10_000).contains(&b) && a <= b;
        prop_assert_eq!(result.is_ok(), valid, "{:?}", result.err().map(|e| e.to_string()));
        if let Ok(config) = result {
            prop_assert_eq!(config.policy.cpu_weight_range, WeightRange { min: a as u32, max: b as u32 });
        }
    }

    #[test]
    fn built_in_classes_always_fit_the_global_range(a in 1i64..=10_000, b in 1i64..=10_000) {
        let (lo, hi) = (a.min(b), a.max(b));
        let text = format!("policy:\n  cpu_weight_range: [{lo}, {hi}]\n");
        let config = parse_config(&text, "t.yml", &EnvMap::new()).unwrap();
        let global = config.policy.cpu_weight_range;
        for class in &config.policy.classes {
            prop_assert!(global.contains(class.cpu_weight.min) && global.contains(class.cpu_weight.max));
            prop_assert!(class.cpu_weight.min <= class.cpu_weight.max);
        }
    }
}
