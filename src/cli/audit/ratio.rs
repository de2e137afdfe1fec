//! `vnpop audit ratio`: lookups per dossier over a period, optionally broken down, as a table,
//! CSV or JSON, and optionally an SVG chart.

use std::path::PathBuf;

use clap::Args;

use super::{
    chart,
    period::PeriodArgs,
    regroup::{before_reform_en, Regroup},
    render::{render, total_line, Format, LeftOut, RatioLine},
    source::Source,
};
use crate::{
    audit::query::GroupBy,
    cli::{
        messages::{audit::lists::Lists as Says, Message},
        output::{file_error, output_error, FileAction},
    },
    proto,
};

/// What `ratio --by` accepts: the server's dimensions ([`GroupBy::ALL`]), and the province as it
/// stood on the day, which the command derives from the district ([`super::regroup`]).
pub fn groups() -> Vec<&'static str> {
    GroupBy::ALL
        .map(GroupBy::name)
        .into_iter()
        .chain([super::regroup::PROVINCE_THEN])
        .collect()
}

/// The arguments of `vnpop audit ratio`.
#[derive(Debug, Args)]
pub struct RatioArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Breakdown, comma-separated: agency, district, officer, procedure, channel, month, commune
    /// (since 1 July 2025; before it the district, said to be before the reform), province (the
    /// current one; old districts mapped into it), province-then (the province as it stood on
    /// the day of receipt: Hòa Bình in 2023, Phú Thọ since 1 July 2025).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(groups()))]
    pub by: Vec<String>,
    /// Count load-test dossiers too.
    #[arg(long)]
    pub include_load_test: bool,
    /// How the figures are printed.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Also draw the report as an SVG bar chart (coverage per group) into this file.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub log: Source,
}

/// The answer to `args`, as lines.
async fn ask(args: &RatioArgs) -> Result<(Vec<RatioLine>, LeftOut), String> {
    let regroup = Regroup::new(&args.by);
    let request = proto::LookupRatioRequest {
        from: args.period.from.clone(),
        to: args.period.to.clone(),
        group_by: regroup.sent().to_vec(),
        agency_id: args.period.agency_id(),
        include_load_test: args.include_load_test,
    };
    let answer = args.log.open().await?.ratio(request).await?;
    let left_out = LeftOut::of(&answer);
    Ok((
        regroup
            .apply(answer.rows, before_reform_en)
            .into_iter()
            .map(RatioLine::from)
            .collect(),
        left_out,
    ))
}

/// Prints the ratio report `args` asks for (and writes its chart).
pub async fn run(args: &RatioArgs) -> Result<(), String> {
    let (lines, left_out) = ask(args).await?;
    if lines.is_empty() {
        eprintln!("{}", Says::NoDossier.text());
    }
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    write!(
        stdout,
        "{}",
        render(&lines, left_out, &args.by, args.format)
    )
    .and_then(|()| stdout.flush())
    .map_err(output_error)?;
    if let Some(path) = &args.chart {
        let mut title = format!(
            "Lookups per dossier, {} to {}",
            args.period.from, args.period.to
        );
        if !args.by.is_empty() {
            title.push_str(&format!(", by {}", args.by.join(" / ")));
        }
        let svg = chart::coverage_svg(&title, &lines, &total_line(&lines));
        std::fs::write(path, svg).map_err(|e| file_error(path, FileAction::Write, e))?;
        let path = path.display().to_string();
        eprintln!("{}", Says::ChartWritten { path }.text());
    }
    Ok(())
}
