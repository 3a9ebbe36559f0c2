//! `ticketsim merge`: the JSON reports of a sweep's partitions, as one report (text,
//! JSON, JUnit). Exit 2 when they do not cover the sweep exactly once.

use super::{check_file, write_file, Format};
use crate::report;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim explore full-system --seeds 0..8000 --partition hash:1/2 --format json > part-1.json\n  ticketsim explore full-system --seeds 0..8000 --partition hash:2/2 --format json > part-2.json\n  ticketsim merge part-1.json part-2.json --junit report.xml"
)]
pub(crate) struct MergeArgs {
    /// The partitions' reports (`explore --partition M/N --format json`), every partition exactly once
    #[arg(required = true, value_name = "REPORT")]
    reports: Vec<PathBuf>,
    /// Also write the merged JUnit XML report to this file
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Most reports merged at once.
const MAX_REPORTS: usize = 10_000;
/// The largest report read (a report is small: counts and at most 100 seeds per invariant).
const MAX_REPORT_BYTES: u64 = 64 << 20;

pub(crate) fn execute<S: super::Driven>(args: MergeArgs) -> Result<i32, String> {
    if args.reports.len() > MAX_REPORTS {
        return Err(format!("{} reports; at most {MAX_REPORTS} at once", args.reports.len()));
    }
    if let Some(file) = &args.junit {
        check_file("junit", file)?;
    }
    let mut shards = Vec::new();
    for path in &args.reports {
        let shown = path.display().to_string();
        let size = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?.len();
        if size > MAX_REPORT_BYTES {
            return Err(format!("{shown}: {size} bytes; a report is at most {MAX_REPORT_BYTES}"));
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
        shards.push(report::merge::read::<S>(&shown, &text)?);
    }
    let count = shards.len();
    let (info, summary) = report::merge::merge(shards)?;
    if let Some(file) = &args.junit {
        write_file(file, &report::junit::explore_xml::<S>(&info, &summary))?;
    }
    match args.format {
        Format::Json => {
            let mut body = report::json::explore(&info, &summary);
            body["merged_from"] = count.into();
            outln!("{}", report::json::document("explore", body)?);
        }
        Format::Text => {
            outln!(
                "merged {} of {} {}..{}",
                report::style::count(count as u64, "report", "reports"),
                info.scenario,
                info.seed_range.start,
                info.seed_range.end
            );
            out!("{}", report::text::explore_text(&summary, &info.scenario_path, &info.overrides));
        }
    }
    Ok((summary.failing > 0) as i32)
}
