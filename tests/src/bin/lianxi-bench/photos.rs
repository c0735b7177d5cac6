//! `lianxi-bench photos [--megapixels 12] [--runs 5]`: what an uploaded
//! phone photo costs the service: decoding, turning upright, encoding again
//! without metadata, and the thumbnail (`lianxi_gateway::media::prepare`,
//! as an upload runs it, on one core).

use std::time::Instant;

use image::{DynamicImage, ImageFormat, RgbImage};

fn arg(args: &[String], name: &str, default: f64) -> f64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A photo-like picture (gradients and noise, which compress as a camera's
/// do, unlike a flat colour), as a JPEG at quality 90.
fn camera_jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut seed: u32 = 0x9E37_79B9;
    let picture = RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed & 0x1F) as u8;
        image::Rgb([
            ((x * 255 / width) as u8).saturating_add(noise),
            ((y * 255 / height) as u8).saturating_add(noise / 2),
            (((x + y) % 256) as u8).wrapping_add(noise),
        ])
    });
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(picture)
        .write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Jpeg)
        .expect("encode");
    out
}

pub fn photos(args: &[String]) {
    let megapixels = arg(args, "--megapixels", 12.0);
    let runs = arg(args, "--runs", 5.0).max(1.0) as usize;
    let width = (megapixels * 1e6 * 4.0 / 3.0).sqrt() as u32;
    let height = width * 3 / 4;
    let photo = camera_jpeg(width, height);
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let prepared = lianxi_gateway::media::prepare(&photo).expect("a photo");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        last = Some(prepared);
    }
    times.sort_by(f64::total_cmp);
    let prepared = last.expect("one run at least");
    println!(
        "photo {width}x{height} ({:.1} MP), {} bytes in, {} bytes stored, thumbnail {} bytes",
        f64::from(width * height) / 1e6,
        photo.len(),
        prepared.bytes.len(),
        prepared.thumbnail.as_ref().map_or(0, Vec::len)
    );
    println!(
        "prepare: median {:.0} ms, min {:.0} ms, max {:.0} ms over {runs} runs",
        times[runs / 2],
        times[0],
        times[runs - 1]
    );
}
