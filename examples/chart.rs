//! A small PNG chart writer for the examples: line and bar panels with axes, grid lines
//! and labels in a built-in 5×7 pixel font, encoded with the `png` crate. No fonts or
//! plotting stack needed.

use std::io::BufWriter;
use std::path::Path;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Colours used by the examples.
pub mod colour {
    use super::Rgb;
    /// Lines, honest bars.
    pub const BLUE: Rgb = [31, 119, 180];
    /// Faulty bars.
    pub const RED: Rgb = [214, 39, 40];
    /// Dropped bars.
    pub const GREY: Rgb = [150, 150, 150];
    /// Axes and text.
    pub const INK: Rgb = [30, 30, 30];
    /// Grid lines.
    pub const GRID: Rgb = [225, 225, 225];
}

/// An RGB canvas.
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

/// Rows of a 5×7 glyph, top to bottom, 5 low bits each (bit 4 = leftmost).
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'B' => [30, 17, 17, 30, 17, 17, 30],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'D' => [28, 18, 17, 17, 17, 18, 28],
        'E' => [31, 16, 16, 30, 16, 16, 31],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        'G' => [14, 17, 16, 23, 17, 17, 15],
        'H' => [17, 17, 17, 31, 17, 17, 17],
        'I' => [14, 4, 4, 4, 4, 4, 14],
        'J' => [7, 2, 2, 2, 2, 18, 12],
        'K' => [17, 18, 20, 24, 20, 18, 17],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'M' => [17, 27, 21, 21, 17, 17, 17],
        'N' => [17, 17, 25, 21, 19, 17, 17],
        'O' => [14, 17, 17, 17, 17, 17, 14],
        'P' => [30, 17, 17, 30, 16, 16, 16],
        'Q' => [14, 17, 17, 17, 21, 18, 13],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        'V' => [17, 17, 17, 17, 17, 10, 4],
        'W' => [17, 17, 17, 21, 21, 21, 10],
        'X' => [17, 17, 10, 4, 10, 17, 17],
        'Y' => [17, 17, 17, 10, 4, 4, 4],
        'Z' => [31, 1, 2, 4, 8, 16, 31],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        ',' => [0, 0, 0, 0, 12, 4, 8],
        ':' => [0, 12, 12, 0, 12, 12, 0],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '%' => [24, 25, 2, 4, 8, 19, 3],
        '/' => [0, 1, 2, 4, 8, 16, 0],
        '(' => [2, 4, 8, 8, 8, 4, 2],
        ')' => [8, 4, 2, 2, 2, 4, 8],
        _ => [0; 7],
    }
}

impl Canvas {
    /// A white canvas.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            pixels: vec![255; width * height * 3],
        }
    }

    /// Sets one pixel (ignored outside the canvas).
    pub fn put(&mut self, x: i64, y: i64, c: Rgb) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let i = (y as usize * self.width + x as usize) * 3;
        if let Some(px) = self.pixels.get_mut(i..i + 3) {
            px.copy_from_slice(&c);
        }
    }

    /// A filled rectangle.
    pub fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        for y in y0.min(y1)..=y0.max(y1) {
            for x in x0.min(x1)..=x0.max(x1) {
                self.put(x, y, c);
            }
        }
    }

    /// A line `w` pixels thick.
    pub fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), w: i64, c: Rgb) {
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as i64).max(1);
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            self.rect(
                x as i64 - w / 2,
                y as i64 - w / 2,
                x as i64 + w / 2,
                y as i64 + w / 2,
                c,
            );
        }
    }

    /// Text at `(x, y)` (top left), `scale` pixels per font pixel; returns its width.
    pub fn text(&mut self, x: i64, y: i64, s: &str, scale: i64, c: Rgb) -> i64 {
        for (k, ch) in s.chars().enumerate() {
            let gx = x + k as i64 * 6 * scale;
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..5 {
                    if bits & (16 >> col) != 0 {
                        let (px, py) = (gx + col * scale, y + row as i64 * scale);
                        self.rect(px, py, px + scale - 1, py + scale - 1, c);
                    }
                }
            }
        }
        s.chars().count() as i64 * 6 * scale
    }

    /// Writes the canvas as an 8-bit RGB PNG.
    ///
    /// # Errors
    /// I/O and encoding errors.
    pub fn save(&self, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
        let file = std::fs::File::create(path)?;
        let mut enc =
            png::Encoder::new(BufWriter::new(file), self.width as u32, self.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()?.write_image_data(&self.pixels)?;
        Ok(())
    }
}

/// A panel's plotting area on a canvas.
#[derive(Debug, Clone, Copy)]
pub struct Panel {
    /// Left edge.
    pub x: i64,
    /// Top edge.
    pub y: i64,
    /// Width.
    pub w: i64,
    /// Height.
    pub h: i64,
}

impl Panel {
    /// Draws the title, the y axis from `lo` to `hi` with `ticks` labelled grid lines
    /// (labels from `label`), and the x axis.
    pub fn frame(
        &self,
        cv: &mut Canvas,
        title: &str,
        (lo, hi): (f64, f64),
        ticks: usize,
        label: impl Fn(f64) -> String,
    ) {
        cv.text(self.x, self.y - 26, title, 2, colour::INK);
        for t in 0..=ticks {
            let v = lo + (hi - lo) * t as f64 / ticks as f64;
            let y = self.y_of(v, lo, hi);
            cv.line(
                (self.x as f64, y),
                ((self.x + self.w) as f64, y),
                1,
                colour::GRID,
            );
            let s = label(v);
            cv.text(
                self.x - 8 - s.len() as i64 * 6,
                y as i64 - 3,
                &s,
                1,
                colour::INK,
            );
        }
        cv.line(
            (self.x as f64, self.y as f64),
            (self.x as f64, (self.y + self.h) as f64),
            1,
            colour::INK,
        );
        cv.line(
            (self.x as f64, (self.y + self.h) as f64),
            ((self.x + self.w) as f64, (self.y + self.h) as f64),
            1,
            colour::INK,
        );
    }

    /// The pixel row of value `v` on a `lo..hi` axis.
    pub fn y_of(&self, v: f64, lo: f64, hi: f64) -> f64 {
        let t = ((v - lo) / (hi - lo).max(1e-12)).clamp(0.0, 1.0);
        (self.y + self.h) as f64 - t * self.h as f64
    }
}
