using Prometheus;

namespace EventGateway.Events.EventSources;

/// <summary>
/// Argo Events' EventSource metrics (docs/metrics.md of Argo Events), with its names, types and labels
/// (<c>namespace</c>, <c>eventsource_name</c>, <c>event_name</c>): running event services, events sent to the bus (here:
/// made durable in the event log), sends that failed (the log refused: 503), events that failed for any reason (refusals
/// other than a filter; includes the failed sends), and the processing duration as a summary with p50/p90/p99.
/// </summary>
public sealed class EventSourceMetrics
{
    private readonly Gauge _running;
    private readonly Counter _sent, _sentFailed, _processingFailed;
    private readonly Summary _duration;

    public EventSourceMetrics(CollectorRegistry? registry = null)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry ?? Prometheus.Metrics.NewCustomRegistry());
        _running = f.CreateGauge("argo_events_event_service_running_total", "How many configured events in the EventSource object are actively running.",
            "namespace", "eventsource_name");
        string[] labels = ["namespace", "eventsource_name", "event_name"];
        _sent = f.CreateCounter("argo_events_events_sent_total", "How many events have been sent successfully (made durable in the event log).", labels);
        _sentFailed = f.CreateCounter("argo_events_events_sent_failed_total", "How many events failed to send to the event log (503).", labels);
        _processingFailed = f.CreateCounter("argo_events_events_processing_failed_total",
            "How many events failed to process for any reason (refusals other than filters); includes argo_events_events_sent_failed_total.", labels);
        _duration = f.CreateSummary("argo_events_event_processing_duration_milliseconds",
            "Event processing duration (from building the event to it being durable in the event log) in milliseconds.", new SummaryConfiguration
            {
                LabelNames = labels,
                Objectives = [new(0.5, 0.05), new(0.9, 0.01), new(0.99, 0.001)],
            });
    }

    /// <summary>The series of one event of one EventSource, created at zero as Argo Events does when the event starts.</summary>
    public EventMetrics For(string ns, string source, string eventName)
    {
        var m = new EventMetrics(_running.WithLabels(ns, source), _sent.WithLabels(ns, source, eventName), _sentFailed.WithLabels(ns, source, eventName),
            _processingFailed.WithLabels(ns, source, eventName), _duration.WithLabels(ns, source, eventName));
        return m;
    }
}

/// <summary>One event's bound series; <see cref="ListenerStatus"/> feeds it as it counts.</summary>
public sealed class EventMetrics(Gauge.Child running, Counter.Child sent, Counter.Child sentFailed, Counter.Child processingFailed, Summary.Child duration)
{
    internal void Running(bool up)
    {
        if (up) running.Inc();
        else running.Dec();
    }

    internal void Sent(int count) => sent.Inc(count);

    internal void Refused(string reason)
    {
        if (reason == "filtered") return; // a filter's decision, not a failure
        if (reason == "503") sentFailed.Inc();
        processingFailed.Inc();
    }

    internal void Processed(TimeSpan elapsed) => duration.Observe(elapsed.TotalMilliseconds);
}
