//! FindAnomalies: the findings an inspector acts on, made on the blocking pool from one pass over
//! the period's reported events ([`crate::audit::anomalies`]) and streamed in chunks.

use tonic::{Request, Response, Status};

use super::{AnswerStream, AuditService, CHUNKS_AHEAD};
use crate::{audit::answers, proto};

impl AuditService {
    /// The answer of FindAnomalies, for an auditor.
    pub(super) async fn find_anomalies_answer(
        &self,
        request: Request<proto::AnomaliesRequest>,
    ) -> Result<Response<AnswerStream<proto::AnomaliesChunk>>, Status> {
        self.auditor(&request, "FindAnomalies")?;
        let query = answers::anomaly_query(request.into_inner())?;
        let stream = self
            .stream(CHUNKS_AHEAD, move |reader, send| {
                answers::anomaly_chunks(reader, &query, send)
            })
            .await?;
        Ok(Response::new(stream))
    }
}
