//! `cargo xtask`: project automation.

fn main() {
    println!("cargo xtask <command>\n\ncommands:\n  test    run the test matrix");
}
