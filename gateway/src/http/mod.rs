//! What the HTTP interfaces (the JSON API, the web pages, Open311) share:
//! request ids and the JSON extractors. Not an interface itself: it calls
//! no service.

pub mod download;
pub mod headers;
pub mod json;
pub mod multipart;
pub mod request_id;
