//! Per-interface counters from `/proc/<pid>/net/dev`, which shows the interfaces of that
//! process's network namespace: a container's own `eth0`, not the host's.

use serde::{Deserialize, Serialize};

use crate::cgroup::ParseError;

/// Counters of one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStats {
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// Header lines of `/proc/net/dev` (they have no `:`).
const HEADER_LINES: usize = 2;

/// Parses `/proc/<pid>/net/dev`:
/// `  eth0: 28161169 1444 0 0 0 0 0 0 104602 870 0 0 0 0 0 0` (8 receive then 8 transmit
/// counters). Interface names cannot contain `:`, so the first `:` ends the name.
pub fn parse_net_dev(text: &str) -> Result<Vec<InterfaceStats>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((name, counters)) = line.split_once(':') else {
            if i < HEADER_LINES {
                continue;
            }
            return Err(ParseError::malformed(
                i + 1,
                "expected \"<iface>: <counters>\"",
                line,
            ));
        };
        let name = name.trim();
        let mut values = [0u64; 16];
        let mut fields = counters.split_ascii_whitespace();
        for slot in &mut values {
            let field = fields
                .next()
                .ok_or_else(|| ParseError::malformed(i + 1, "expected 16 counters", line))?;
            *slot = field.parse().map_err(|_| ParseError::number(field))?;
        }
        if name.is_empty() {
            return Err(ParseError::malformed(i + 1, "empty interface name", line));
        }
        out.push(InterfaceStats {
            name: name.to_string(),
            rx_bytes: values[0],
            rx_packets: values[1],
            rx_errors: values[2],
            rx_dropped: values[3],
            tx_bytes: values[8],
            tx_packets: values[9],
            tx_errors: values[10],
            tx_dropped: values[11],
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const THIS_HOST: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 28161169    1444    0    0    0     0          0         0   104602     870    0    0    0     0       0          0
";

    #[test]
    fn parses_this_hosts_net_dev() {
        let stats = parse_net_dev(THIS_HOST).expect("valid");
        assert_eq!(stats.len(), 2);
        assert_eq!(stats[0].name, "lo");
        assert_eq!(
            stats[1],
            InterfaceStats {
                name: "eth0".into(),
                rx_bytes: 28_161_169,
                rx_packets: 1444,
                tx_bytes: 104_602,
                tx_packets: 870,
                ..Default::default()
            }
        );
    }

    #[test]
    fn old_format_without_space_after_colon() {
        let text = "h1\nh2\neth0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
        let stats = parse_net_dev(text).expect("valid");
        assert_eq!((stats[0].rx_bytes, stats[0].tx_dropped), (1, 12));
    }

    #[test]
    fn rejects_truncated_and_garbage() {
        assert!(parse_net_dev("h1\nh2\neth0: 1 2 3\n").is_err());
        assert!(parse_net_dev("h1\nh2\neth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n").is_err());
        assert!(parse_net_dev("h1\nh2\ngarbage\n").is_err());
        assert_eq!(parse_net_dev("").map(|v| v.len()), Ok(0));
    }
}
