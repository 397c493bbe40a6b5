//! The reference supplier (`mallcheck serve`): an embedded axum server implementing the default
//! profile completely and correctly, with named faults that each break one requirement.
