//! Generated protobuf and gRPC code for `smefin.v1` (built from `proto/` by
//! `build.rs`), and the descriptors reflection serves.

tonic::include_proto!("smefin.v1");

/// Encoded `FileDescriptorSet` of every smefin proto, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/smefin_descriptor.bin"));
