//! Rescue throughput on realistic inputs (filled in below).

fn main() {}
