//! Tracepoint format files (`events/<category>/<name>/format`): the raw record layout the
//! kernel promises. The agent refuses to attach programs whose offsets do not match it.

use std::path::Path;

use smoothtask_common::{cgroup::layout, maps::TracepointProgram, memory::layout as mem};

use super::KernelError;

/// One `field:<decl>; offset:N; size:N; signed:N;` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The declaration, e.g. `__data_loc char[] path` or `u64 id`.
    pub decl: String,
    pub name: String,
    pub offset: usize,
    pub size: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TracepointFormat {
    pub fields: Vec<Field>,
}

impl TracepointFormat {
    /// Parses the text of a format file; lines that are not fields are ignored.
    pub fn parse(text: &str) -> Self {
        let fields = text.lines().filter_map(parse_field).collect();
        Self { fields }
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

fn parse_field(line: &str) -> Option<Field> {
    let mut decl = None;
    let mut offset = None;
    let mut size = None;
    for part in line.trim().split(';') {
        let part = part.trim();
        if let Some(d) = part.strip_prefix("field:") {
            decl = Some(d.trim().to_string());
        } else if let Some(o) = part.strip_prefix("offset:") {
            offset = o.trim().parse().ok();
        } else if let Some(s) = part.strip_prefix("size:") {
            size = s.trim().parse().ok();
        }
    }
    let decl = decl?;
    let name = decl
        .rsplit(|c: char| c.is_whitespace() || c == ']')
        .next()?
        .trim_end_matches("[]")
        .to_string();
    Some(Field {
        decl,
        name,
        offset: offset?,
        size: size?,
    })
}

/// The fields each program reads: (field, offset, size).
fn expected(tp: &TracepointProgram) -> &'static [(&'static str, usize, usize)] {
    const DIR: &[(&str, usize, usize)] = &[
        ("root", layout::ROOT, 4),
        ("level", layout::LEVEL, 4),
        ("id", layout::ID, 8),
        ("path", layout::PATH, 4),
    ];
    const ATTACH: &[(&str, usize, usize)] = &[
        ("dst_root", layout::ROOT, 4),
        ("dst_level", layout::LEVEL, 4),
        ("dst_id", layout::ID, 8),
        ("pid", layout::ATTACH_PID, 4),
        ("dst_path", layout::ATTACH_PATH, 4),
        ("comm", layout::ATTACH_COMM, 4),
    ];
    const RECLAIM_BEGIN: &[(&str, usize, usize)] = &[("order", mem::BEGIN_ORDER, 4)];
    const RECLAIM_END: &[(&str, usize, usize)] = &[("nr_reclaimed", mem::END_NR_RECLAIMED, 8)];
    const VICTIM: &[(&str, usize, usize)] = &[
        ("pid", mem::VICTIM_PID, 4),
        ("comm", mem::VICTIM_COMM, 4),
        ("total_vm", mem::VICTIM_TOTAL_VM, 8),
        ("anon_rss", mem::VICTIM_ANON_RSS, 8),
        ("file_rss", mem::VICTIM_FILE_RSS, 8),
        ("shmem_rss", mem::VICTIM_SHMEM_RSS, 8),
        ("uid", mem::VICTIM_UID, 4),
        ("oom_score_adj", mem::VICTIM_OOM_SCORE_ADJ, 2),
    ];
    match tp.name {
        "cgroup_attach_task" => ATTACH,
        "cgroup_mkdir" | "cgroup_rmdir" => DIR,
        "mark_victim" => VICTIM,
        name if name.ends_with("_begin") => RECLAIM_BEGIN,
        name if name.ends_with("_end") => RECLAIM_END,
        _ => &[],
    }
}

/// Checks a parsed format against the layout compiled into the programs.
pub fn check_layout(tp: &TracepointProgram, format: &TracepointFormat) -> Result<(), KernelError> {
    for &(name, offset, size) in expected(tp) {
        let mismatch = |detail: String| KernelError::FormatMismatch {
            category: tp.category,
            name: tp.name,
            detail,
        };
        let field = format
            .field(name)
            .ok_or_else(|| mismatch(format!("field `{name}` is missing")))?;
        if field.offset != offset || field.size != size {
            return Err(mismatch(format!(
                "field `{name}` is at offset {} size {}, programs expect offset {offset} size {size}",
                field.offset, field.size
            )));
        }
    }
    Ok(())
}

/// Reads and checks the format of one tracepoint under `tracefs`.
pub fn verify(tracefs: &Path, tp: &TracepointProgram) -> Result<(), KernelError> {
    let path = tracefs
        .join("events")
        .join(tp.category)
        .join(tp.name)
        .join("format");
    let text = std::fs::read_to_string(&path).map_err(|source| KernelError::FormatUnreadable {
        category: tp.category,
        name: tp.name,
        path: path.clone(),
        source,
    })?;
    check_layout(tp, &TracepointFormat::parse(&text))
}

#[cfg(test)]
mod tests {
    use smoothtask_common::maps::CGROUP_PROGRAMS;

    use super::*;

    // Copied from /sys/kernel/tracing/events/cgroup/*/format on Linux 6.18.
    const MKDIR: &str = "name: cgroup_mkdir
ID: 544
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int root;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int level;\toffset:12;\tsize:4;\tsigned:1;
\tfield:u64 id;\toffset:16;\tsize:8;\tsigned:0;
\tfield:__data_loc char[] path;\toffset:24;\tsize:4;\tsigned:0;

print fmt: \"root=%d id=%llu level=%d path=%s\", REC->root, REC->id, REC->level, __get_str(path)
";
    const ATTACH: &str = "name: cgroup_attach_task
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int dst_root;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dst_level;\toffset:12;\tsize:4;\tsigned:1;
\tfield:u64 dst_id;\toffset:16;\tsize:8;\tsigned:0;
\tfield:int pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:__data_loc char[] dst_path;\toffset:28;\tsize:4;\tsigned:0;
\tfield:__data_loc char[] comm;\toffset:32;\tsize:4;\tsigned:0;
";

    #[test]
    fn parses_fields_with_their_offsets() {
        let format = TracepointFormat::parse(MKDIR);
        assert_eq!(format.fields.len(), 8);
        let path = format.field("path").unwrap();
        assert_eq!(path.decl, "__data_loc char[] path");
        assert_eq!((path.offset, path.size), (24, 4));
        assert_eq!(format.field("id").unwrap().offset, 16);
    }

    #[test]
    fn the_kernel_6_18_layout_matches_the_programs() {
        let [mkdir, rmdir, attach] = CGROUP_PROGRAMS;
        check_layout(&mkdir, &TracepointFormat::parse(MKDIR)).unwrap();
        check_layout(&rmdir, &TracepointFormat::parse(MKDIR)).unwrap();
        check_layout(&attach, &TracepointFormat::parse(ATTACH)).unwrap();
    }

    #[test]
    fn an_old_kernel_with_a_32_bit_id_is_refused_with_the_field_named() {
        // Linux < 5.7: `int id` at offset 16 and the path at 20.
        let old = MKDIR
            .replace(
                "field:u64 id;\toffset:16;\tsize:8;",
                "field:int id;\toffset:16;\tsize:4;",
            )
            .replace(
                "offset:24;\tsize:4;\tsigned:0;",
                "offset:20;\tsize:4;\tsigned:0;",
            );
        let err = check_layout(&CGROUP_PROGRAMS[0], &TracepointFormat::parse(&old))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "tracepoint cgroup:cgroup_mkdir has an unexpected layout: field `id` is at offset 16 size 4, programs expect offset 16 size 8"
        );
    }

    #[test]
    fn the_kernel_6_18_memory_layouts_match_the_programs() {
        use smoothtask_common::maps::MEMORY_PROGRAMS;
        let begin = "\tfield:int order;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:unsigned long gfp_flags;\toffset:16;\tsize:8;\tsigned:0;\n";
        let end = "\tfield:unsigned long nr_reclaimed;\toffset:8;\tsize:8;\tsigned:0;\n";
        let victim = "\tfield:int pid;\toffset:8;\tsize:4;\tsigned:1;
\tfield:__data_loc char[] comm;\toffset:12;\tsize:4;\tsigned:0;
\tfield:unsigned long total_vm;\toffset:16;\tsize:8;\tsigned:0;
\tfield:unsigned long anon_rss;\toffset:24;\tsize:8;\tsigned:0;
\tfield:unsigned long file_rss;\toffset:32;\tsize:8;\tsigned:0;
\tfield:unsigned long shmem_rss;\toffset:40;\tsize:8;\tsigned:0;
\tfield:uid_t uid;\toffset:48;\tsize:4;\tsigned:0;
\tfield:unsigned long pgtables;\toffset:56;\tsize:8;\tsigned:0;
\tfield:short oom_score_adj;\toffset:64;\tsize:2;\tsigned:1;
";
        for tp in &MEMORY_PROGRAMS {
            let text = match tp.name {
                "mark_victim" => victim,
                n if n.ends_with("_begin") => begin,
                _ => end,
            };
            check_layout(tp, &TracepointFormat::parse(text)).unwrap();
        }
        // An older mark_victim (before 6.x) has only pid: refused, naming comm.
        let old = "\tfield:int pid;\toffset:8;\tsize:4;\tsigned:1;\n";
        let err = check_layout(&MEMORY_PROGRAMS[4], &TracepointFormat::parse(old)).unwrap_err();
        assert!(
            err.to_string().ends_with("field `comm` is missing"),
            "{err}"
        );
    }

    #[test]
    fn garbage_gives_no_fields_and_a_missing_field_error() {
        let format = TracepointFormat::parse("\u{0}\u{1}field:;offset:x;\nnonsense");
        assert!(format.fields.is_empty());
        let err = check_layout(&CGROUP_PROGRAMS[0], &format).unwrap_err();
        assert!(
            err.to_string().ends_with("field `root` is missing"),
            "{err}"
        );
    }
}
