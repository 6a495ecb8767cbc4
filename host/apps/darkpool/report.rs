//! What a dark-pool response says, and how its owner reads it.
//!
//! # Payload (F + 1 field elements, after the status element)
//!
//! * Fields 0 … F − 1: the fills of a place, best first, each `price + 2^32·quantity`
//!   (the price is the maker's limit price); 0 for an unused fill slot and for other kinds.
//! * Field F, the outcome: a place's quantity now resting (0 when it was filled completely or
//!   its remainder was dropped at the fill limit — the client knows which from its order's
//!   quantity and the fills); a cancel's quantity removed from the book; a status's quantity
//!   still resting; 0 for an open.
//!
//! The response is committed with a salt in the batch's tree; only the client holding the
//! receipt can open it. A maker learns of the fills against its resting order by asking for
//! its status (the fills' sum is what its quantity went down by, at its own price).

use ark_ff::Zero;

use super::{
    layout::Layout,
    records::{PRICE_BITS, QUANTITY_BITS},
    request::{DarkPoolRequest, Instruction},
};
use crate::host::storage_gadget::Response;

/// Payload fields after the F fill fields: the outcome.
pub const OUTCOME_FIELDS: usize = 1;

/// The layout of one fill report: price, quantity.
pub fn fill_layout() -> Layout {
    Layout::new(&[PRICE_BITS, QUANTITY_BITS])
}

/// One fill of a place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// The price (the resting order's limit).
    pub price: u64,
    /// The quantity.
    pub quantity: u64,
}

/// An accepted request's result, as its owner reads it from the response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// The account is open.
    Opened,
    /// The order was placed.
    Placed {
        /// Its fills, best first.
        fills: Vec<Fill>,
        /// The quantity now resting in the book.
        rested: u64,
    },
    /// The order was cancelled.
    Cancelled {
        /// The quantity removed from the book.
        quantity: u64,
    },
    /// The order's status.
    Remaining {
        /// The quantity still resting (0: filled or cancelled).
        quantity: u64,
    },
}

/// A payload that no dark-pool response of this request can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The payload has the wrong number of fields.
    #[error("a payload of {got} fields, the app's responses have {expected}")]
    Length {
        /// Fields expected (F + 1).
        expected: usize,
        /// Fields given.
        got: usize,
    },
    /// A field is not a packed fill or quantity.
    #[error("payload field {index} is not laid out as a report")]
    Malformed {
        /// The field.
        index: usize,
    },
}

impl Report {
    /// The report in `response` to `request`: `None` when the request was rejected (or is
    /// the no-op, which reports nothing).
    pub fn decode<const F: usize>(
        request: &DarkPoolRequest<F>,
        response: &Response,
    ) -> Result<Option<Self>, ReportError> {
        let payload = &response.payload;
        if payload.len() != F + OUTCOME_FIELDS {
            return Err(ReportError::Length {
                expected: F + OUTCOME_FIELDS,
                got: payload.len(),
            });
        }
        let Some(signed) = request.instruction() else {
            return Ok(None);
        };
        if !response.accepted {
            return Ok(None);
        }
        let outcome = Layout::new(&[QUANTITY_BITS])
            .unpack(payload[F])
            .ok_or(ReportError::Malformed { index: F })?[0];
        Ok(Some(match signed.instruction {
            Instruction::Open => Report::Opened,
            Instruction::Place(_) => {
                let mut fills = Vec::new();
                for (index, &field) in payload[..F].iter().enumerate() {
                    if field.is_zero() {
                        continue;
                    }
                    let f = fill_layout()
                        .unpack(field)
                        .ok_or(ReportError::Malformed { index })?;
                    fills.push(Fill {
                        price: f[0],
                        quantity: f[1],
                    });
                }
                Report::Placed {
                    fills,
                    rested: outcome,
                }
            }
            Instruction::Cancel { .. } => Report::Cancelled { quantity: outcome },
            Instruction::Status { .. } => Report::Remaining { quantity: outcome },
        }))
    }
}
