//! How each section of a block is compressed, and the contexts that do it.
//!
//! zstd, with the column's trained dictionary, for every section but the
//! `message` column, which is lz4. Why, measured on 200,000 generator
//! records in blocks of 512 (`docs/performance.md`): the message column
//! is 62 bytes a record raw, 17.8 compressed with zstd and its dictionary,
//! 31.3 with lz4; but message regexes verify their candidates on it, and
//! it decompresses in 10.5 µs a block with lz4 against 28.7 with zstd
//! (about 50 in a real search, with cold caches). The index kept a copy of
//! every message for those regexes (38 bytes a record); the lz4 column
//! replaces the copy for 13.5 more bytes than zstd would take.
//!
//! Blocks of format 1 (`LGB1`, before this choice) have zstd sections
//! without a codec byte and still decode.

use std::cell::RefCell;

use zstd::dict::DecoderDictionary;
use zstd::zstd_safe::DCtx;

use super::{bad, put_varint, DecodeError, Reader};

/// The compression of one section: its first byte in format 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Codec {
    Zstd = 0,
    Lz4 = 1,
}

impl Codec {
    /// The codec of the column `name`.
    pub(super) fn of_column(name: &str) -> Codec {
        if name == super::MESSAGE {
            Codec::Lz4
        } else {
            Codec::Zstd
        }
    }

    fn from_byte(byte: u8) -> Result<Codec, DecodeError> {
        match byte {
            0 => Ok(Codec::Zstd),
            1 => Ok(Codec::Lz4),
            other => Err(bad(format!("unknown section codec {other}"))),
        }
    }
}

/// One zstd context for plain sections and one for sections with a
/// dictionary, reused across the sections of a block (a context costs far
/// more to set up than a small section to compress).
///
/// The dictionary is loaded as raw bytes for each section rather than
/// referenced prepared: a prepared dictionary carries match tables sized
/// for large inputs, which zstd copies into the context for every section
/// (measured: a third more CPU for the whole ingest path), while loading
/// 16 KiB of raw dictionary builds tables sized for the section at hand.
pub(super) struct Compression<'d> {
    level: i32,
    plain: zstd::bulk::Compressor<'d>,
    with_dictionary: Option<zstd::bulk::Compressor<'d>>,
}

impl Compression<'_> {
    pub(super) fn new(level: i32) -> Self {
        Compression {
            level,
            plain: zstd::bulk::Compressor::new(level).expect("a zstd context"),
            with_dictionary: None,
        }
    }

    /// Appends `raw` compressed with `codec` (and `dictionary`, for zstd):
    /// `codec raw_len len bytes`.
    pub(super) fn section(
        &mut self,
        out: &mut Vec<u8>,
        raw: &[u8],
        codec: Codec,
        dictionary: Option<&[u8]>,
    ) {
        let compressed = match codec {
            Codec::Lz4 => lz4_flex::block::compress(raw),
            Codec::Zstd => self.zstd(raw, dictionary),
        };
        out.push(codec as u8);
        put_varint(out, raw.len() as u64);
        put_varint(out, compressed.len() as u64);
        out.extend_from_slice(&compressed);
    }

    fn zstd(&mut self, raw: &[u8], dictionary: Option<&[u8]>) -> Vec<u8> {
        let compressor = match dictionary {
            Some(dictionary) => {
                let level = self.level;
                let compressor = self.with_dictionary.get_or_insert_with(|| {
                    zstd::bulk::Compressor::new(level).expect("a zstd context")
                });
                compressor
                    .set_dictionary(level, dictionary)
                    .expect("a dictionary loads");
                compressor
            }
            None => &mut self.plain,
        };
        compressor.compress(raw).expect("zstd compresses any input")
    }
}

thread_local! {
    /// A zstd context per thread, reused for every section it decodes:
    /// creating one cost as much as decompressing a block's message column
    /// (a fifth of a message regex's time in `perf`).
    static ZSTD: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

/// Reads one section at `r` and decompresses it; `codecs` says whether
/// sections start with their codec (format 2) or are all zstd (format 1).
pub(super) fn read_section(
    r: &mut Reader<'_>,
    codecs: bool,
    dictionary: Option<&DecoderDictionary<'static>>,
) -> Result<Vec<u8>, DecodeError> {
    let codec = if codecs {
        Codec::from_byte(r.bytes(1)?[0])?
    } else {
        Codec::Zstd
    };
    let raw_len = r.varint()?;
    let len = r.count()?;
    let compressed = r.bytes(len)?;
    let raw_len = usize::try_from(raw_len)
        .ok()
        .filter(|&l| l <= 1 << 30)
        .ok_or_else(|| bad("implausible section size"))?;
    let raw = match codec {
        // lz4 expands at most 255-fold: a larger size is damage, refused
        // before the decoder allocates it.
        Codec::Lz4 if raw_len > compressed.len().saturating_mul(255).saturating_add(16) => {
            return Err(bad("implausible section size"));
        }
        Codec::Lz4 => lz4_flex::block::decompress(compressed, raw_len)
            .map_err(|e| bad(format!("lz4: {e}")))?,
        Codec::Zstd => {
            let mut raw = Vec::with_capacity(raw_len);
            ZSTD.with_borrow_mut(|zstd| match dictionary {
                Some(d) => zstd.decompress_using_ddict(&mut raw, compressed, d.as_ddict()),
                None => zstd.decompress(&mut raw, compressed),
            })
            .map_err(|code| bad(format!("zstd: {}", zstd::zstd_safe::get_error_name(code))))?;
            raw
        }
    };
    if raw.len() != raw_len {
        return Err(bad("section shorter than its header says"));
    }
    Ok(raw)
}

/// Steps over one section at `r` without decompressing it.
pub(super) fn skip_section(r: &mut Reader<'_>, codecs: bool) -> Result<(), DecodeError> {
    if codecs {
        Codec::from_byte(r.bytes(1)?[0])?;
    }
    r.varint()?;
    let len = r.count()?;
    r.bytes(len)?;
    Ok(())
}
