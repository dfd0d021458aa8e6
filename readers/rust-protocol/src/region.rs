//! The region of a read (protocol 2): one `[start, stop, step]` per axis, a Python slice
//! `start:stop:step` (stop exclusive) in the protocol's view of the array. For a library without
//! strided selection: the region's bounding box (step 1), to read through the library, and the
//! elements of that box to keep.

use std::ops::Range;

use serde_json::Value;

use crate::{Failure, R};

/// One axis of a region: `start:stop:step`, with `start < stop` and `step >= 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    pub start: u64,
    pub stop: u64,
    pub step: u64,
}

impl Slice {
    /// The number of elements selected: ceil((stop - start) / step).
    pub fn len(&self) -> u64 {
        (self.stop - self.start).div_ceil(self.step)
    }
}

/// A region: one [`Slice`] per axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region(pub Vec<Slice>);

fn bad(region: &Value) -> Failure {
    Failure::BadRequest(format!(
        "a region is a list of [start, stop, step] with 0 <= start < stop and step >= 1: {region}"
    ))
}

/// The request's region; None (the whole array) when `region` is absent or null. The number of
/// axes and the stops are checked against the array's shape by [`Region::check`].
pub fn region(req: &Value) -> R<Option<Region>> {
    let v = match req.get("region") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let axes = v.as_array().ok_or_else(|| bad(v))?;
    let mut out = Vec::with_capacity(axes.len());
    for axis in axes {
        let triple: Option<Vec<u64>> = axis.as_array().and_then(|a| a.iter().map(Value::as_u64).collect());
        match triple.as_deref() {
            Some(&[start, stop, step]) if start < stop && step >= 1 => out.push(Slice { start, stop, step }),
            _ => return Err(bad(v)),
        }
    }
    Ok(Some(Region(out)))
}

impl Region {
    /// A region fits an array of `shape`: one slice per axis, each within the axis.
    pub fn check(&self, shape: &[u64]) -> R<()> {
        if self.0.len() != shape.len() || self.0.iter().zip(shape).any(|(s, &n)| s.stop > n) {
            let r: Vec<[u64; 3]> = self.0.iter().map(|s| [s.start, s.stop, s.step]).collect();
            return Err(Failure::BadRequest(format!("region {r:?} does not fit shape {shape:?}")));
        }
        Ok(())
    }

    /// The same region with its axes reversed (for a library that presents N5's own axis order).
    pub fn reversed(&self) -> Region {
        Region(self.0.iter().rev().copied().collect())
    }

    /// The selection's shape: ceil((stop - start) / step) per axis.
    pub fn shape(&self) -> Vec<u64> {
        self.0.iter().map(Slice::len).collect()
    }

    /// The region's bounding box, `start..stop` per axis (step 1).
    pub fn bounding_box(&self) -> Vec<Range<u64>> {
        self.0.iter().map(|s| s.start..s.stop).collect()
    }

    /// Every step is 1: the bounding box is the selection.
    pub fn is_contiguous(&self) -> bool {
        self.0.iter().all(|s| s.step == 1)
    }

    /// Flat C-order indices, within the bounding box read whole (C order), of the elements the
    /// region selects (every step-th per axis), in the selection's C order.
    pub fn indices_in_bounding_box(&self) -> Vec<usize> {
        let box_shape: Vec<u64> = self.0.iter().map(|s| s.stop - s.start).collect();
        let within: Vec<Slice> = self.0.iter().map(|s| Slice { start: 0, stop: s.stop - s.start, step: s.step }).collect();
        selection_indices(&box_shape, &within)
    }
}

/// Flat C-order indices of the elements `slices` select (one per axis) in an array of `shape`.
pub fn selection_indices(shape: &[u64], slices: &[Slice]) -> Vec<usize> {
    let d = shape.len();
    let mut strides = vec![1u64; d];
    for k in (0..d.saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * shape[k + 1];
    }
    let n: u64 = slices.iter().map(Slice::len).product();
    let mut out = Vec::with_capacity(n as usize);
    if n == 0 {
        return out;
    }
    let mut idx: Vec<u64> = slices.iter().map(|s| s.start).collect();
    loop {
        out.push(idx.iter().zip(&strides).map(|(i, s)| i * s).sum::<u64>() as usize);
        let mut k = d;
        loop {
            if k == 0 {
                return out;
            }
            k -= 1;
            idx[k] += slices[k].step;
            if idx[k] < slices[k].stop {
                break;
            }
            idx[k] = slices[k].start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> R<Option<Region>> {
        region(&json!({"op": "read", "region": v}))
    }

    #[test]
    fn absent_or_null_is_the_whole_array() {
        assert!(region(&json!({"op": "read"})).unwrap().is_none());
        assert!(parse(Value::Null).unwrap().is_none());
    }

    #[test]
    fn malformed_regions_are_bad_requests() {
        for v in [
            json!("0:5"),
            json!([[0, 5]]),
            json!([[0, 5, 1, 1]]),
            json!([[5, 5, 1]]),
            json!([[6, 5, 1]]),
            json!([[0, 5, 0]]),
            json!([[-1, 5, 1]]),
            json!([[0, 5.5, 1]]),
            json!([[0, 5, true]]),
            json!([0, 5, 1]),
            json!([[0, "5", 1]]),
        ] {
            assert!(matches!(parse(v.clone()), Err(Failure::BadRequest(_))), "{v}");
        }
    }

    #[test]
    fn a_region_fits_the_shape_or_is_refused() {
        let r = parse(json!([[3, 17, 1], [5, 29, 4]])).unwrap().unwrap();
        assert!(r.check(&[20, 30]).is_ok());
        assert!(r.check(&[20, 29]).is_ok());
        assert!(matches!(r.check(&[20, 28]), Err(Failure::BadRequest(_))));
        assert!(matches!(r.check(&[20]), Err(Failure::BadRequest(_))));
        assert!(matches!(r.check(&[20, 30, 4]), Err(Failure::BadRequest(_))));
    }

    #[test]
    fn shape_box_and_reversal() {
        let r = parse(json!([[3, 17, 1], [5, 29, 4], [0, 1, 3]])).unwrap().unwrap();
        assert_eq!(r.shape(), vec![14, 6, 1]);
        assert_eq!(r.bounding_box(), vec![3..17, 5..29, 0..1]);
        assert!(!r.is_contiguous());
        assert_eq!(r.reversed().shape(), vec![1, 6, 14]);
        assert_eq!(r.reversed().reversed(), r);
    }

    #[test]
    fn indices_are_every_step_th_element_of_the_box() {
        // A 4x5 box (a[1:5, 2:7:2] of a 6x8 array): rows 0..4, columns 0, 2, 4 of the box.
        let r = parse(json!([[1, 5, 1], [2, 7, 2]])).unwrap().unwrap();
        assert_eq!(r.indices_in_bounding_box(), vec![0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19]);
        // The same selection in the whole array (6x8).
        let want: Vec<usize> = (1..5).flat_map(|i| (2..7).step_by(2).map(move |j| i * 8 + j)).collect();
        assert_eq!(selection_indices(&[6, 8], &r.0), want);
        // A step beyond the axis keeps its first element; a 1-d region.
        let r = parse(json!([[4, 9, 7]])).unwrap().unwrap();
        assert_eq!((r.shape(), r.indices_in_bounding_box()), (vec![1], vec![0]));
        // No axes (a 0-d array): its one element.
        assert_eq!(Region(vec![]).indices_in_bounding_box(), vec![0]);
    }
}
