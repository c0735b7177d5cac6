//! What an uploaded file is, judged by its content, never by its name or
//! the type the client claims; photos are made safe to share before they
//! are stored.
//!
//! A photo (JPEG, PNG, WebP) is decoded, turned upright by its EXIF
//! orientation and encoded again: what is stored carries no metadata at
//! all, so no location (EXIF GPS), camera serial or capture time leaves
//! with it. A JPEG stays a JPEG, a PNG or WebP becomes a PNG (lossless).
//! A PDF document is kept as sent. Anything else is refused.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;

/// The largest photo decoded, per side: larger ones are refused before
/// any pixel memory is taken.
const MAX_SIDE: u32 = 12_000;

/// The media types accepted, as the pages and the API name them.
pub const ACCEPTED: &str = "image/jpeg, image/png, image/webp, application/pdf";

/// A file ready to be stored: its bytes, digest and media type, and a
/// JPEG thumbnail for photos.
#[derive(Debug)]
pub struct Prepared {
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub media_type: &'static str,
    pub thumbnail: Option<Vec<u8>>,
}

/// Why a file was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("is empty")]
    Empty,
    #[error("is not a JPEG, PNG or WebP photo or a PDF document (its content reads as {found})")]
    Unsupported { found: String },
    #[error("is a photo that cannot be read: {0}")]
    Unreadable(String),
    #[error("is a photo larger than {MAX_SIDE} pixels on a side")]
    TooLarge,
}

/// The media type the content shows, if it is one accepted.
pub fn sniff(content: &[u8]) -> Result<&'static str, MediaError> {
    if content.is_empty() {
        return Err(MediaError::Empty);
    }
    match infer::get(content).map(|t| t.mime_type()) {
        Some(t @ ("image/jpeg" | "image/png" | "image/webp" | "application/pdf")) => Ok(t),
        Some(other) => Err(MediaError::Unsupported {
            found: other.to_owned(),
        }),
        None => Err(MediaError::Unsupported {
            found: "an unknown type".to_owned(),
        }),
    }
}

/// Checks `content` and makes it ready to store. CPU-bound: run it off the
/// request threads.
pub fn prepare(content: &[u8]) -> Result<Prepared, MediaError> {
    let media_type = sniff(content)?;
    let format = match media_type {
        "image/jpeg" => ImageFormat::Jpeg,
        "image/png" => ImageFormat::Png,
        "image/webp" => ImageFormat::WebP,
        _ => {
            return Ok(Prepared {
                sha256: hex::encode(Sha256::digest(content)),
                bytes: content.to_vec(),
                media_type,
                thumbnail: None,
            })
        }
    };
    let photo = decode_upright(content, format)?;
    let (bytes, media_type) = if format == ImageFormat::Jpeg {
        (jpeg(&photo, 90)?, "image/jpeg")
    } else {
        let mut out = Vec::new();
        photo
            .write_with_encoder(PngEncoder::new(&mut out))
            .map_err(|e| MediaError::Unreadable(e.to_string()))?;
        (out, "image/png")
    };
    let thumbnail = jpeg(&photo.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE), 80)?;
    Ok(Prepared {
        sha256: hex::encode(Sha256::digest(&bytes)),
        bytes,
        media_type,
        thumbnail: Some(thumbnail),
    })
}

fn decode_upright(content: &[u8], format: ImageFormat) -> Result<DynamicImage, MediaError> {
    let unreadable = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => MediaError::TooLarge,
        e => MediaError::Unreadable(e.to_string()),
    };
    let mut reader = ImageReader::with_format(Cursor::new(content), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut photo = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    photo.apply_orientation(orientation);
    Ok(photo)
}

fn jpeg(photo: &DynamicImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    photo
        .to_rgb8()
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))
        .map_err(|e| MediaError::Unreadable(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `width` x `height` JPEG with an EXIF block (orientation 6: turn
    /// right; a GPS position) inserted after SOI, as a phone writes it.
    pub(crate) fn phone_photo(width: u32, height: u32) -> Vec<u8> {
        let photo = DynamicImage::new_rgb8(width, height);
        let plain = jpeg(&photo, 90).expect("encoded");
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&exif_segment());
        out.extend_from_slice(&plain[2..]);
        out
    }

    /// APP1 "Exif": a little-endian TIFF with Orientation = 6 and a GPS IFD
    /// holding GPSLatitudeRef "N".
    fn exif_segment() -> Vec<u8> {
        let mut tiff: Vec<u8> = b"II*\0".to_vec();
        tiff.extend_from_slice(&8u32.to_le_bytes()); // IFD0 at 8
        tiff.extend_from_slice(&2u16.to_le_bytes()); // two entries
                                                     // Orientation (0x0112), SHORT, 1, value 6
        tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
        // GPSInfo (0x8825), LONG, 1, offset of the GPS IFD: 8 + 2 + 24 + 4 = 38
        tiff.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
        tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
        tiff.extend_from_slice(&1u16.to_le_bytes()); // GPS IFD: one entry
                                                     // GPSLatitudeRef (0x0001), ASCII, 2, "N\0"
        tiff.extend_from_slice(&[0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
        tiff.extend_from_slice(&0u32.to_le_bytes());
        let mut body = b"Exif\0\0".to_vec();
        body.extend_from_slice(&tiff);
        let mut segment = vec![0xFF, 0xE1];
        segment.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        segment.extend_from_slice(&body);
        segment
    }

    #[test]
    fn a_phone_photo_is_stored_upright_without_its_metadata() {
        let sent = phone_photo(40, 20);
        assert!(sent.windows(6).any(|w| w == b"Exif\0\0"));
        let prepared = prepare(&sent).expect("a photo");
        assert_eq!(prepared.media_type, "image/jpeg");
        assert!(!prepared.bytes.windows(4).any(|w| w == b"Exif"));
        assert_eq!(
            prepared.sha256,
            hex::encode(Sha256::digest(&prepared.bytes))
        );
        // Orientation 6 turns a 40 x 20 picture into a 20 x 40 one.
        let stored = image::load_from_memory(&prepared.bytes).expect("decodes");
        assert_eq!((stored.width(), stored.height()), (20, 40));
        let thumbnail = prepared.thumbnail.expect("a thumbnail");
        let thumbnail = image::load_from_memory(&thumbnail).expect("decodes");
        assert!(thumbnail.width() <= THUMBNAIL_SIDE && thumbnail.height() <= THUMBNAIL_SIDE);
    }

    #[test]
    fn a_large_photo_gets_a_small_thumbnail() {
        let prepared = prepare(&phone_photo(1200, 800)).expect("a photo");
        let thumbnail =
            image::load_from_memory(&prepared.thumbnail.expect("a thumbnail")).expect("decodes");
        assert_eq!(thumbnail.height(), THUMBNAIL_SIDE);
        assert!(thumbnail.width() < THUMBNAIL_SIDE);
    }

    #[test]
    fn content_decides_not_the_name() {
        assert!(matches!(prepare(b""), Err(MediaError::Empty)));
        assert!(matches!(
            sniff(b"MZ\x90\0\x03\0\0\0\x04\0\0\0"),
            Err(MediaError::Unsupported { .. })
        ));
        assert!(matches!(
            sniff(b"just some text"),
            Err(MediaError::Unsupported { .. })
        ));
        let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
        let prepared = prepare(pdf).expect("a document");
        assert_eq!(prepared.media_type, "application/pdf");
        assert_eq!(prepared.bytes, pdf.to_vec());
        assert!(prepared.thumbnail.is_none());
        // A JPEG header over garbage is refused, not stored.
        let mut broken = phone_photo(8, 8);
        broken.truncate(200);
        assert!(matches!(prepare(&broken), Err(MediaError::Unreadable(_))));
    }
}
