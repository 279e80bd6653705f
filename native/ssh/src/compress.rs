//! zlib@openssh.com: one zlib stream per direction, flushed (sync flush) after every packet
//! so each packet inflates on its own; inflation bounded so a zlib bomb is an error.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::PacketError;

/// The outgoing stream.
pub struct Deflater(Compress);

impl Default for Deflater {
    fn default() -> Self {
        Deflater::new()
    }
}

impl Deflater {
    /// A fresh stream (level 6, as OpenSSH).
    pub fn new() -> Deflater {
        Deflater(Compress::new(Compression::new(6), true))
    }

    /// Compresses `input` into `out` (cleared first), ending with a sync flush.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(input.len() + input.len() / 8 + 64);
        let start = self.0.total_in();
        loop {
            let used = (self.0.total_in() - start) as usize;
            self.0
                .compress_vec(&input[used..], out, FlushCompress::Sync)
                .expect("deflate never fails on valid state");
            let used = (self.0.total_in() - start) as usize;
            if used == input.len() && out.len() < out.capacity() {
                return;
            }
            let more = out.capacity().max(256);
            out.reserve(more);
        }
    }
}

/// The incoming stream.
pub struct Inflater(Decompress);

impl Default for Inflater {
    fn default() -> Self {
        Inflater::new()
    }
}

impl Inflater {
    /// A fresh stream expecting a zlib header.
    pub fn new() -> Inflater {
        Inflater(Decompress::new(true))
    }

    /// Inflates one packet's `input` into `out` (cleared first), at most `limit` bytes.
    pub fn decompress(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), PacketError> {
        out.clear();
        let start_in = self.0.total_in();
        loop {
            let used = (self.0.total_in() - start_in) as usize;
            if out.len() == out.capacity() {
                if out.len() > limit {
                    return Err(PacketError::Compression(format!(
                        "a packet inflates to more than {limit} bytes"
                    )));
                }
                let want = (out.len().max(input.len() * 4).max(1024)).min(limit + 1 - out.len());
                out.reserve_exact(want);
            }
            let before_out = out.len();
            let status = self
                .0
                .decompress_vec(&input[used..], out, FlushDecompress::Sync)
                .map_err(|e| PacketError::Compression(format!("corrupt zlib stream: {e}")))?;
            let used_now = (self.0.total_in() - start_in) as usize;
            if out.len() > limit {
                return Err(PacketError::Compression(format!(
                    "a packet inflates to more than {limit} bytes"
                )));
            }
            if status == Status::StreamEnd {
                return Err(PacketError::Compression("the zlib stream ended".into()));
            }
            let progress = used_now != used || out.len() != before_out;
            if used_now == input.len() && out.len() < out.capacity() {
                return Ok(());
            }
            if !progress && out.len() < out.capacity() {
                return Err(PacketError::Compression(
                    "a packet's zlib data is truncated".into(),
                ));
            }
        }
    }
}
