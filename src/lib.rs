pub mod domain;

pub mod proto {
    tonic::include_proto!("vnpop.v1");
}
