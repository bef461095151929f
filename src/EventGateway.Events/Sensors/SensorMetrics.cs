using Prometheus;

namespace EventGateway.Events.Sensors;

/// <summary>
/// Argo Events' Sensor metrics (docs/metrics.md of Argo Events), with its names, types and labels (<c>namespace</c>,
/// <c>sensor_name</c>, <c>trigger_name</c>): actions triggered, failed, failed after their retries (also counted when no
/// retryStrategy is given, as Argo Events does) and the duration of a firing, retries included, as a summary with
/// p50/p90/p99. The per-stage counts (<c>eventgateway_sensor_events_total</c>) come from the state store instead, where
/// they are committed with the decisions.
/// </summary>
public sealed class SensorMetrics
{
    private readonly Counter _triggered, _failed, _retriesFailed;
    private readonly Summary _duration;

    public SensorMetrics(CollectorRegistry? registry = null)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry ?? Prometheus.Metrics.NewCustomRegistry());
        string[] labels = ["namespace", "sensor_name", "trigger_name"];
        _triggered = f.CreateCounter("argo_events_action_triggered_total", "How many actions have been triggered successfully.", labels);
        _failed = f.CreateCounter("argo_events_action_failed_total", "How many actions failed.", labels);
        _retriesFailed = f.CreateCounter("argo_events_action_retries_failed_total", "How many actions failed after the retries have been exhausted.", labels);
        _duration = f.CreateSummary("argo_events_action_duration_milliseconds", "Action triggering duration in milliseconds, retries included.",
            new SummaryConfiguration { LabelNames = labels, Objectives = [new(0.5, 0.05), new(0.9, 0.01), new(0.99, 0.001)] });
    }

    /// <summary>A trigger's series at zero, as Argo Events creates them when the sensor starts.</summary>
    public void Start(string ns, string sensor, string trigger)
    {
        _triggered.WithLabels(ns, sensor, trigger);
        _failed.WithLabels(ns, sensor, trigger);
        _retriesFailed.WithLabels(ns, sensor, trigger);
    }

    /// <summary>One firing's outcome, after its retries.</summary>
    public void Fired(string ns, string sensor, string trigger, bool succeeded, TimeSpan elapsed)
    {
        _duration.WithLabels(ns, sensor, trigger).Observe(elapsed.TotalMilliseconds);
        if (succeeded)
        {
            _triggered.WithLabels(ns, sensor, trigger).Inc();
            return;
        }
        _failed.WithLabels(ns, sensor, trigger).Inc();
        _retriesFailed.WithLabels(ns, sensor, trigger).Inc();
    }
}
