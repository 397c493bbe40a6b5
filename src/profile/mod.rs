//! The protocol as data: the interface catalogue, the requirements and the JSON Schemas of
//! `schemas/`, embedded in the binary or loaded from a folder.
