//! `/metrics`: the run's counters in Prometheus text format, rendered by metrics-exporter-prometheus.
//!
//! `Stats` stays the one source of truth: at each scrape its snapshot is written into a recorder
//! of our own (counters as absolute values, gauges as they are now) and the recorder renders it.
//! Nothing in the pipeline calls a metrics macro, and no global recorder is installed.

use metrics::{Label, Recorder, counter, describe_counter, describe_gauge, gauge, with_local_recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use super::Api;

pub struct Exporter {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Exporter {
    pub fn new() -> Exporter {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        with_local_recorder(&recorder, describe);
        Exporter { recorder, handle }
    }

    pub fn render(&self, api: &Api, connections: &super::Connections) -> String {
        let recorder: &dyn Recorder = &self.recorder;
        with_local_recorder(recorder, || {
            publish(api);
            use std::sync::atomic::Ordering::Relaxed;
            gauge!("newsfold_api_connections").set(connections.open.load(Relaxed) as f64);
            counter!("newsfold_api_connections_refused_total").absolute(connections.refused.load(Relaxed));
        });
        self.handle.render()
    }
}

fn describe() {
    describe_gauge!("newsfold_api_connections", "Connections the API serves now.");
    describe_counter!(
        "newsfold_api_connections_refused_total",
        "Connections closed at once because [api] max_connections were open."
    );
    describe_counter!(
        "newsfold_stage_received_total",
        "Items a stage took in (source, scrape, fold, sink)."
    );
    describe_counter!(
        "newsfold_stage_emitted_total",
        "Items a stage passed on (sink: records written)."
    );
    describe_counter!(
        "newsfold_stage_failed_total",
        "Items a stage refused (scrape) or dead-lettered (sink)."
    );
    describe_counter!("newsfold_source_pages_read_total", "Pages a source read and sent on.");
    describe_counter!(
        "newsfold_source_pages_fetched_total",
        "HTTP responses a source received (304s included)."
    );
    describe_counter!(
        "newsfold_source_skipped_total",
        "Pages skipped because they were delivered before."
    );
    describe_counter!(
        "newsfold_source_not_modified_total",
        "Fetches answered 304 Not Modified."
    );
    describe_counter!("newsfold_source_records_total", "Records folded from a source's pages.");
    describe_counter!("newsfold_source_errors_total", "Failures at a source, by kind.");
    describe_counter!(
        "newsfold_source_log_suppressed_total",
        "Repeated failure lines left out of the log ([log] repeat_window)."
    );
    describe_gauge!(
        "newsfold_source_last_success_age_seconds",
        "Seconds since the source last listed its folder or got an answer from its site (absent before the first)."
    );
    describe_gauge!(
        "newsfold_source_up",
        "1 while the source runs (polling or idle), 0 once it failed or stopped."
    );
    describe_counter!(
        "newsfold_sink_received_total",
        "Records handed to a sink (before its duplicates policy)."
    );
    describe_counter!("newsfold_sink_delivered_total", "Records a sink wrote and flushed.");
    describe_counter!("newsfold_sink_retries_total", "Failed writes a sink retried.");
    describe_counter!("newsfold_sink_outages_total", "Times a sink became unavailable.");
    describe_counter!(
        "newsfold_sink_dead_lettered_total",
        "Records a sink rejected for good (written to dead-letter/)."
    );
    describe_gauge!("newsfold_sink_queue_depth", "Deliveries waiting in a sink's queue.");
    describe_gauge!(
        "newsfold_cluster_members",
        "Live members of the cluster, as this member last saw them."
    );
    describe_gauge!(
        "newsfold_cluster_partitions",
        "Partitions of the sources (sources sharing a host are one)."
    );
    describe_gauge!(
        "newsfold_cluster_partitions_held",
        "Partitions this member holds a lease on."
    );
    describe_gauge!("newsfold_cluster_fold_leader", "1 while this member leads the fold.");
    describe_counter!(
        "newsfold_cluster_pages_published_total",
        "Pages this member published to the pages stream."
    );
    describe_counter!(
        "newsfold_cluster_redeliveries_total",
        "Pages the stream delivered to this member's fold again (a leader died or was slow)."
    );
    describe_counter!(
        "newsfold_cluster_dead_letters_total",
        "Pages this member's fold kept as dead letters."
    );
    describe_gauge!(
        "newsfold_sink_up",
        "1 unless the sink's last write failed or its thread stopped."
    );
    describe_gauge!(
        "newsfold_queue_depth",
        "Items waiting in a stage's input queue (scrape, fold, sink:ID)."
    );
    describe_counter!(
        "newsfold_fold_relations_total",
        "Records folded, by relation to their story."
    );
    describe_gauge!("newsfold_fold_index_documents", "Documents in the story index.");
    describe_gauge!("newsfold_fold_index_bytes", "Estimated memory of the story index.");
    describe_gauge!("newsfold_uptime_seconds", "Seconds since the pipeline started.");
}

fn publish(api: &Api) {
    let r = api.stats.snapshot();
    let now = chrono::Utc::now();
    for (stage, c) in &r.stage_counts {
        let l = [Label::new("stage", stage.as_str())];
        counter!("newsfold_stage_received_total", l.iter()).absolute(c.received);
        counter!("newsfold_stage_emitted_total", l.iter()).absolute(c.emitted);
        counter!("newsfold_stage_failed_total", l.iter()).absolute(c.failed);
    }
    for (source, c) in &r.sources {
        let l = [Label::new("source", source.clone())];
        counter!("newsfold_source_pages_read_total", l.iter()).absolute(c.read);
        counter!("newsfold_source_pages_fetched_total", l.iter()).absolute(c.fetched);
        counter!("newsfold_source_skipped_total", l.iter()).absolute(c.already_done);
        counter!("newsfold_source_not_modified_total", l.iter()).absolute(c.not_modified);
        counter!("newsfold_source_records_total", l.iter()).absolute(c.records);
        counter!("newsfold_source_log_suppressed_total", l.iter()).absolute(c.suppressed);
        for (kind, n) in &c.failed {
            let lk = [Label::new("source", source.clone()), Label::new("kind", kind.as_str())];
            counter!("newsfold_source_errors_total", lk.iter()).absolute(*n);
        }
        if let Some(at) = c.last_success {
            let age = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
            gauge!("newsfold_source_last_success_age_seconds", l.iter()).set(age);
        }
        let up = matches!(
            c.state,
            crate::report::SourceState::Starting
                | crate::report::SourceState::Polling
                | crate::report::SourceState::Idle
        );
        gauge!("newsfold_source_up", l.iter()).set(if up { 1.0 } else { 0.0 });
    }
    for spec in &api.sinks {
        let l = [Label::new("sink", spec.id.clone())];
        let e = r.sink_events.get(&spec.id).cloned().unwrap_or_default();
        counter!("newsfold_sink_received_total", l.iter()).absolute(e.received);
        counter!("newsfold_sink_delivered_total", l.iter()).absolute(r.delivered.get(&spec.id).copied().unwrap_or(0));
        counter!("newsfold_sink_retries_total", l.iter()).absolute(e.retries);
        counter!("newsfold_sink_outages_total", l.iter()).absolute(e.outages);
        counter!("newsfold_sink_dead_lettered_total", l.iter()).absolute(e.dead_lettered);
        gauge!("newsfold_sink_up", l.iter()).set(if e.down || e.stopped { 0.0 } else { 1.0 });
    }
    for (name, len) in &api.queues {
        let depth = len() as f64;
        gauge!("newsfold_queue_depth", [Label::new("queue", name.clone())].iter()).set(depth);
        if let Some(sink) = name.strip_prefix("sink:") {
            gauge!(
                "newsfold_sink_queue_depth",
                [Label::new("sink", sink.to_string())].iter()
            )
            .set(depth);
        }
    }
    for (relation, n) in &r.relations {
        counter!(
            "newsfold_fold_relations_total",
            [Label::new("relation", *relation)].iter()
        )
        .absolute(*n);
    }
    gauge!("newsfold_fold_index_documents").set(r.index.documents as f64);
    gauge!("newsfold_fold_index_bytes").set(r.index.memory_bytes as f64);
    gauge!("newsfold_uptime_seconds").set(api.started.elapsed().as_secs_f64());
    if let Some(c) = &api.cluster {
        use std::sync::atomic::Ordering::Relaxed;
        let me = [Label::new("member", c.name.clone())];
        let members = c.members.lock().unwrap_or_else(|e| e.into_inner()).len();
        gauge!("newsfold_cluster_members", me.iter()).set(members as f64);
        gauge!("newsfold_cluster_partitions", me.iter()).set(c.partitions.load(Relaxed) as f64);
        gauge!("newsfold_cluster_partitions_held", me.iter()).set(c.partitions_held.load(Relaxed) as f64);
        gauge!("newsfold_cluster_fold_leader", me.iter()).set(if c.leader.load(Relaxed) { 1.0 } else { 0.0 });
        counter!("newsfold_cluster_pages_published_total", me.iter()).absolute(c.published.load(Relaxed));
        counter!("newsfold_cluster_redeliveries_total", me.iter()).absolute(c.redelivered.load(Relaxed));
        counter!("newsfold_cluster_dead_letters_total", me.iter()).absolute(c.dead_letters.load(Relaxed));
    }
}
