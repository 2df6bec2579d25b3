//! The HTML page of a report: escaping, inlined figures, the style and the scripts that let a
//! headless browser check the page; the tasks fill in the sections.
//!
//! Images are inlined as `data:` URIs (PNG as they are on disk, charts as SVG). A small script
//! records on `<body>` how many figures there are (`data-figures`), how many loaded
//! (`data-figures-loaded`, images with `complete && naturalWidth > 0`) and how many script or
//! resource errors happened (`data-errors`), so a headless browser can check the page.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine;

use crate::{Error, Result};

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

/// A `data:` URI holding `bytes` of MIME type `mime`, base64-encoded.
pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A figure holding the image at `uri`, described by `alt`.
pub fn img(uri: &str, alt: &str) -> String {
    format!(
        "<figure><img src=\"{uri}\" alt=\"{}\"></figure>",
        escape(alt)
    )
}

/// A figure of the PNG file at `path`, inlined; `None` if there is no such file.
pub fn png_figure(path: &Path, alt: &str) -> Result<Option<String>> {
    match crate::fsio::read_input(path) {
        Ok(bytes) => Ok(Some(img(&data_uri("image/png", &bytes), alt))),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// `v` with `digits` decimals; a dash for NaN, `inf` for infinities.
pub fn num(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else if v.is_nan() {
        "–".into()
    } else {
        format!("{v}")
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.warn{background:#fde2e1}.ok{background:#e3f1e6}.muted{color:#777;font-size:.9em}
ul.warnings li{color:#a12622;margin:.2em 0}figure{margin:.6em 0}figcaption{color:#555;font-size:.9em}img{max-width:100%;border:1px solid #eee}
.charts{display:flex;flex-wrap:wrap;gap:1em}pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}";

/// Script in `<head>`: counts errors from the start (capture phase also sees failed images).
const HEAD_SCRIPT: &str = "<script>window.daeErrors=[];window.addEventListener('error',function(e){window.daeErrors.push(String(e.message||(e.target&&e.target.tagName)||'error'));if(document.body)document.body.setAttribute('data-errors',String(window.daeErrors.length));},true);</script>";

/// Script at the end of `<body>`: once everything loaded, records the figure counts.
const TAIL_SCRIPT: &str = "<script>window.addEventListener('load',function(){var imgs=Array.prototype.slice.call(document.images);var ok=imgs.filter(function(i){return i.complete&&i.naturalWidth>0;}).length;var b=document.body;b.setAttribute('data-figures',String(imgs.length));b.setAttribute('data-figures-loaded',String(ok));b.setAttribute('data-errors',String(window.daeErrors.length));});</script>";

/// A whole page: `title`, a subtitle (HTML), the warnings (text; none: a note that none fired)
/// and the sections (HTML).
pub fn page(title: &str, subtitle_html: &str, warnings: &[String], body: &str) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>dae report: {title}</title><style>{STYLE}</style>{HEAD_SCRIPT}</head><body>\
         <h1>dae report: {title}</h1><p class=\"muted\">{subtitle_html} Written by dae \
         {version}.</p>",
        title = escape(title),
        version = env!("CARGO_PKG_VERSION"),
    );
    page.push_str("<h2 id=\"warnings\">Warnings</h2>");
    if warnings.is_empty() {
        page.push_str("<p class=\"ok\">No diagnostic crossed its threshold.</p>");
    } else {
        page.push_str("<ul class=\"warnings\">");
        for w in warnings {
            let _ = write!(page, "<li>{}</li>", escape(w));
        }
        page.push_str("</ul>");
    }
    page.push_str(body);
    page.push_str(TAIL_SCRIPT);
    page.push_str("</body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_data_uris() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            data_uri("text/plain", b"hi!"),
            "data:text/plain;base64,aGkh"
        );
        assert_eq!(num(f64::NAN, 2), "–");
        assert_eq!(num(f64::INFINITY, 2), "inf");
        assert_eq!(num(1.23456, 2), "1.23");
    }
}
