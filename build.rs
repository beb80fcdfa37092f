//! Compiles `proto/smefin/v1/*.proto` with protox (pure Rust, no system
//! `protoc`) and writes the encoded descriptor set for server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/smefin/v1/common.proto",
        "proto/smefin/v1/matching_service.proto",
        "proto/smefin/v1/riskpool_service.proto",
        "proto/smefin/v1/incentive_service.proto",
        "proto/smefin/v1/referral_service.proto",
        "proto/smefin/v1/ledger_service.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(files)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("smefin_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
