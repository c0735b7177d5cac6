//! Ledgers written as files: an XLSX workbook (one sheet per ledger, typed
//! cells, the header row frozen, columns wide enough for Chinese text) or a
//! CSV file of one ledger (UTF-8 with a byte-order mark, so that spreadsheet
//! programs read Chinese correctly).

use chrono::{FixedOffset, Offset, Utc};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use super::rows::{Cell, Sheet};

/// Times are written in China Standard Time, as the pages show them.
fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// The workbook of `sheets`.
pub fn xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let header = Format::new().set_bold().set_background_color("#F2F2F2");
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let share = Format::new().set_num_format("0.0%");
    let wrap = Format::new().set_text_wrap();
    for sheet in sheets {
        let ws = book.add_worksheet();
        ws.set_name(&sheet.name)?;
        for (col, (title, width)) in sheet.columns.iter().enumerate() {
            let col = col as u16;
            ws.write_string_with_format(0, col, title, &header)?;
            ws.set_column_width(col, *width)?;
        }
        ws.set_freeze_panes(1, 0)?;
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) if s.chars().count() > 40 => {
                        ws.write_string_with_format(r, c, s, &wrap)?;
                    }
                    Cell::Text(s) => {
                        ws.write_string(r, c, s)?;
                    }
                    Cell::Int(n) => {
                        ws.write_number(r, c, *n as f64)?;
                    }
                    Cell::Share(x) => {
                        ws.write_number_with_format(r, c, *x, &share)?;
                    }
                    Cell::Time(at) => {
                        let local = at.with_timezone(&china()).naive_local();
                        let value = ExcelDateTime::parse_from_str(
                            &local.format("%Y-%m-%dT%H:%M:%S").to_string(),
                        )?;
                        ws.write_datetime_with_format(r, c, value, &when)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        if !sheet.columns.is_empty() {
            let last_row = sheet.rows.len() as u32;
            ws.autofilter(0, 0, last_row, sheet.columns.len() as u16 - 1)?;
        }
    }
    book.save_to_buffer()
}

/// One ledger as CSV: a byte-order mark, the header row, then the rows;
/// times as `YYYY-MM-DD HH:MM` (China Standard Time), shares as decimals.
pub fn csv(sheet: &Sheet) -> Result<Vec<u8>, csv::Error> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(sheet.columns.iter().map(|(title, _)| title.as_str()))?;
        for row in &sheet.rows {
            writer.write_record(row.iter().map(|cell| {
                match cell {
                    Cell::Text(s) => s.clone(),
                    Cell::Int(n) => n.to_string(),
                    Cell::Share(x) => format!("{x:.4}"),
                    Cell::Time(at) => at
                        .with_timezone(&china())
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                    Cell::Empty => String::new(),
                }
            }))?;
        }
        writer.flush()?;
    }
    Ok(out)
}
