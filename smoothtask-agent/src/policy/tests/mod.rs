//! Tests of the policy engine: classification, each signal, relief, limits, and properties.

mod actuator;
mod classes;
mod fixtures;
mod props;
mod relief;
mod signals;
