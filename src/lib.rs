pub mod domain;
#[cfg(feature = "server")]
pub mod population;

pub mod proto {
    tonic::include_proto!("vnpop.v1");
}
