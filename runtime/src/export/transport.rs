//! Sending one `ExportMetricsServiceRequest` over gRPC or HTTP/protobuf.
//!
//! Both clients run on the export thread's own tokio runtime, never on the
//! application's.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use super::config::Protocol;

/// Largest response body read from an HTTP collector. Responses carry at
/// most a partial-success message, so anything longer is cut.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Cause of a failed export.
#[derive(Debug)]
pub(crate) enum SendError {
    /// A transient failure, worth trying again: connection errors,
    /// time-outs, gRPC `UNAVAILABLE` and similar codes, HTTP 429, 502, 503, 504.
    Transient(String),
    /// The collector rejected the request; sending it again would fail again.
    Rejected(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Transient(message) | SendError::Rejected(message) => formatter.write_str(message),
        }
    }
}

/// Response to a successful export. The collector may accept a request but
/// reject some of its points.
pub(crate) struct Delivered {
    pub(crate) rejected_points: i64,
    pub(crate) message: String,
}

impl Delivered {
    fn from_partial_success(partial: Option<ExportMetricsPartialSuccess>) -> Delivered {
        let partial = partial.unwrap_or_default();
        Delivered { rejected_points: partial.rejected_data_points, message: partial.error_message }
    }
}

/// A client for one collector URL.
pub(crate) enum Transport {
    Grpc { client: MetricsServiceClient<Channel>, metadata: MetadataMap },
    Http { client: Client<HttpConnector, Full<Bytes>>, uri: http::Uri, headers: http::HeaderMap },
}

impl Transport {
    /// Creates the client. Connecting is lazy, so an unreachable collector
    /// does not fail this. Call it inside the export thread's runtime.
    pub(crate) fn new(
        protocol: Protocol,
        url: &str,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<Transport, String> {
        match protocol {
            Protocol::Grpc => {
                let endpoint = Endpoint::from_shared(url.to_owned())
                    .map_err(|error| format!("invalid gRPC endpoint {url}: {error}"))?
                    .connect_timeout(timeout)
                    .timeout(timeout);
                let mut metadata = MetadataMap::new();
                for (name, value) in headers {
                    let key = MetadataKey::from_bytes(name.as_bytes())
                        .map_err(|error| format!("invalid gRPC metadata name {name:?}: {error}"))?;
                    let value = MetadataValue::try_from(value.as_str())
                        .map_err(|error| format!("invalid gRPC metadata value for {name:?}: {error}"))?;
                    metadata.insert(key, value);
                }
                Ok(Transport::Grpc { client: MetricsServiceClient::new(endpoint.connect_lazy()), metadata })
            }
            Protocol::HttpProtobuf => {
                let uri: http::Uri = url.parse().map_err(|error| format!("invalid HTTP endpoint {url}: {error}"))?;
                let mut header_map = http::HeaderMap::new();
                for (name, value) in headers {
                    let name = http::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|error| format!("invalid header name {name:?}: {error}"))?;
                    let value = http::HeaderValue::from_str(value)
                        .map_err(|error| format!("invalid value for header {name:?}: {error}"))?;
                    header_map.insert(name, value);
                }
                let mut connector = HttpConnector::new();
                connector.set_connect_timeout(Some(timeout));
                let client = Client::builder(TokioExecutor::new()).build(connector);
                Ok(Transport::Http { client, uri, headers: header_map })
            }
        }
    }

    /// Sends one request, giving up after `timeout`.
    pub(crate) async fn send(
        &mut self,
        request: &ExportMetricsServiceRequest,
        timeout: Duration,
    ) -> Result<Delivered, SendError> {
        let sending = async {
            match self {
                Transport::Grpc { client, metadata } => send_grpc(client, metadata, request).await,
                Transport::Http { client, uri, headers } => send_http(client, uri, headers, request).await,
            }
        };
        match tokio::time::timeout(timeout, sending).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Transient(format!("timed out after {} ms", timeout.as_millis()))),
        }
    }
}

async fn send_grpc(
    client: &mut MetricsServiceClient<Channel>,
    metadata: &MetadataMap,
    request: &ExportMetricsServiceRequest,
) -> Result<Delivered, SendError> {
    // tonic takes the message by value, and a retry sends the same request again.
    let mut grpc_request = tonic::Request::new(request.clone());
    *grpc_request.metadata_mut() = metadata.clone();
    match client.export(grpc_request).await {
        Ok(response) => Ok(Delivered::from_partial_success(response.into_inner().partial_success)),
        Err(status) => {
            let message = format!("gRPC status {:?}: {}", status.code(), status.message());
            Err(if is_transient_grpc(status.code()) {
                SendError::Transient(message)
            } else {
                SendError::Rejected(message)
            })
        }
    }
}

/// Returns true for the gRPC codes the OTLP specification lists as retryable.
fn is_transient_grpc(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Cancelled
            | tonic::Code::DeadlineExceeded
            | tonic::Code::ResourceExhausted
            | tonic::Code::Aborted
            | tonic::Code::OutOfRange
            | tonic::Code::Unavailable
            | tonic::Code::DataLoss
    )
}

async fn send_http(
    client: &Client<HttpConnector, Full<Bytes>>,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    request: &ExportMetricsServiceRequest,
) -> Result<Delivered, SendError> {
    let body = Full::new(http_body(request));
    let mut http_request = http::Request::new(body);
    *http_request.method_mut() = http::Method::POST;
    *http_request.uri_mut() = uri.clone();
    *http_request.headers_mut() = headers.clone();
    http_request
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-protobuf"));

    let response = client
        .request(http_request)
        .await
        .map_err(|error| SendError::Transient(format!("HTTP request failed: {}", error_chain(&error))))?;
    let status = response.status();
    let body =
        Limited::new(response.into_body(), MAX_RESPONSE_BYTES).collect().await.map(|collected| collected.to_bytes());

    if status.is_success() {
        let partial = body
            .ok()
            .and_then(|bytes| ExportMetricsServiceResponse::decode(bytes).ok())
            .and_then(|response| response.partial_success);
        return Ok(Delivered::from_partial_success(partial));
    }
    let text =
        body.map(|bytes| String::from_utf8_lossy(&bytes).chars().take(200).collect::<String>()).unwrap_or_default();
    let message = format!("HTTP status {status}: {text}");
    let transient = matches!(status.as_u16(), 429 | 502 | 503 | 504);
    Err(if transient { SendError::Transient(message) } else { SendError::Rejected(message) })
}

/// Serializes `request` as the body of an OTLP/HTTP protobuf request.
pub(crate) fn http_body(request: &ExportMetricsServiceRequest) -> Bytes {
    Bytes::from(request.encode_to_vec())
}

/// Joins an error and its sources, because hyper's top-level message alone
/// ("client error (Connect)") hides the cause.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
