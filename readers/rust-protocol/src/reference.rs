//! The reference data handed to writers (`data` in `write`): raw element bytes in the form of
//! the canonical bytes (C order, little-endian), NaNs as they are. And the index arithmetic
//! writers and readers share: the elements of a chunk, axes reversed (N5's order).

use crate::region::{Slice, selection_indices};
use crate::{Failure, R};

/// Bytes per element of a fixed-size canonical dtype (None: `string`, or not a dtype).
pub fn fixed_size(dtype: &str) -> Option<usize> {
    Some(match dtype {
        "bool" | "int8" | "uint8" => 1,
        "int16" | "uint16" | "float16" => 2,
        "int32" | "uint32" | "float32" => 4,
        "int64" | "uint64" | "float64" | "complex64" => 8,
        "complex128" => 16,
        d if d.starts_with('S') => d[1..].parse().ok()?,
        d if d.starts_with('U') => 4 * d[1..].parse::<usize>().ok()?,
        _ => return None,
    })
}

/// The reference array decoded from its bytes (little-endian = native).
pub enum Elements {
    Fixed { size: usize, bytes: Vec<u8> },
    /// `string`: each element's range in `bytes` (its UTF-8 bytes).
    Vlen { items: Vec<(usize, usize)>, bytes: Vec<u8> },
}

/// Elements picked out of the reference array, in the form of [`Elements`].
pub enum Gathered {
    /// Element bytes one after the other.
    Fixed(Vec<u8>),
    /// The elements' bytes one after the other and the offsets between them (one more than the elements).
    Vlen(Vec<u8>, Vec<usize>),
}

impl Elements {
    /// The `n` elements of `dtype` in `bytes`; a bad request when they do not hold exactly that.
    pub fn from_canonical(bytes: Vec<u8>, dtype: &str, n: usize) -> R<Self> {
        if dtype == "string" {
            let mut items = Vec::with_capacity(n);
            let mut pos = 0;
            while pos + 4 <= bytes.len() {
                let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
                items.push((pos + 4, pos + 4 + len));
                pos += 4 + len;
            }
            if items.len() != n || pos != bytes.len() {
                return Err(Failure::BadRequest(format!("reference data do not hold {n} strings")));
            }
            return Ok(Elements::Vlen { items, bytes });
        }
        let size = fixed_size(dtype).ok_or_else(|| Failure::BadRequest(format!("unknown dtype {dtype:?}")))?;
        if bytes.len() != size * n {
            return Err(Failure::BadRequest(format!("reference data: {} bytes, expected {}", bytes.len(), size * n)));
        }
        Ok(Elements::Fixed { size, bytes })
    }

    /// The elements at flat (C-order) `indices`.
    pub fn gather(&self, indices: &[usize]) -> Gathered {
        match self {
            Elements::Fixed { size, bytes } => {
                let mut out = Vec::with_capacity(indices.len() * size);
                for &i in indices {
                    out.extend_from_slice(&bytes[i * size..(i + 1) * size]);
                }
                Gathered::Fixed(out)
            }
            Elements::Vlen { items, bytes } => {
                let mut out = Vec::new();
                let mut offsets = Vec::with_capacity(indices.len() + 1);
                offsets.push(0);
                for &i in indices {
                    let (a, b) = items[i];
                    out.extend_from_slice(&bytes[a..b]);
                    offsets.push(out.len());
                }
                Gathered::Vlen(out, offsets)
            }
        }
    }
}

/// Flat C-order indices of the elements of a box of an array of `shape`.
pub fn region_indices(shape: &[u64], ranges: &[std::ops::Range<u64>]) -> Vec<usize> {
    let slices: Vec<Slice> = ranges.iter().map(|r| Slice { start: r.start, stop: r.end, step: 1 }).collect();
    selection_indices(shape, &slices)
}

/// Every chunk of a regular grid (`shape` in chunks of `chunks`) in C order: its grid index
/// and the element ranges it covers (clipped at the array's edge).
pub fn chunk_grid(shape: &[u64], chunks: &[u64]) -> Vec<(Vec<u64>, Vec<std::ops::Range<u64>>)> {
    let grid: Vec<u64> = shape.iter().zip(chunks).map(|(s, c)| s.div_ceil(*c)).collect();
    let total: u64 = grid.iter().product();
    let mut out = Vec::with_capacity(total as usize);
    for flat in 0..total {
        let mut rem = flat;
        let mut idx = vec![0u64; grid.len()];
        for k in (0..grid.len()).rev() {
            idx[k] = rem % grid[k];
            rem /= grid[k];
        }
        let ranges = idx
            .iter()
            .zip(chunks)
            .zip(shape)
            .map(|((i, c), s)| i * c..((i + 1) * c).min(*s))
            .collect();
        out.push((idx, ranges));
    }
    out
}

/// Fixed-size elements of `shape` (C order) with the axes reversed.
pub fn reverse_axes(bytes: &[u8], shape: &[u64], size: usize) -> Vec<u8> {
    let d = shape.len();
    if d < 2 {
        return bytes.to_vec();
    }
    let shape: Vec<usize> = shape.iter().map(|&s| s as usize).collect();
    let mut strides = vec![1usize; d];
    for k in (0..d - 1).rev() {
        strides[k] = strides[k + 1] * shape[k + 1];
    }
    let out_shape: Vec<usize> = shape.iter().rev().copied().collect();
    let out_strides: Vec<usize> = strides.iter().rev().copied().collect(); // input stride per output axis
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n * size);
    let mut idx = vec![0usize; d];
    for _ in 0..n {
        let src: usize = idx.iter().zip(&out_strides).map(|(i, s)| i * s).sum();
        out.extend_from_slice(&bytes[src * size..(src + 1) * size]);
        for m in (0..d).rev() {
            idx[m] += 1;
            if idx[m] < out_shape[m] {
                break;
            }
            idx[m] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_array_once() {
        let grid = chunk_grid(&[5, 7], &[2, 3]);
        assert_eq!(grid.len(), 9);
        assert_eq!(grid[0], (vec![0, 0], vec![0..2, 0..3]));
        assert_eq!(grid[8], (vec![2, 2], vec![4..5, 6..7]));
        let mut seen: Vec<usize> = grid.iter().flat_map(|(_, r)| region_indices(&[5, 7], r)).collect();
        seen.sort();
        assert_eq!(seen, (0..35).collect::<Vec<_>>());
    }

    #[test]
    fn reversed_axes_are_the_transpose() {
        let bytes: Vec<u8> = (0..6).collect(); // [[0, 1, 2], [3, 4, 5]]
        assert_eq!(reverse_axes(&bytes, &[2, 3], 1), vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn strings_are_read_from_their_lengths() {
        let mut b = Vec::new();
        for s in ["", "ab"] {
            b.extend_from_slice(&(s.len() as u32).to_le_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        let e = Elements::from_canonical(b, "string", 2).unwrap();
        let Gathered::Vlen(bytes, offsets) = e.gather(&[1, 0]) else { panic!("not vlen") };
        assert_eq!((bytes, offsets), (b"ab".to_vec(), vec![0, 2, 2]));
        assert!(Elements::from_canonical(vec![0; 3], "int16", 2).is_err());
    }
}
