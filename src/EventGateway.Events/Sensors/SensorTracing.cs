using System.Diagnostics;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.State;
using EventGateway.Model;

namespace EventGateway.Events.Sensors;

/// <summary>
/// The sensors' spans: one <c>sensor</c> span per event a sensor depends on, continuing the trace the event carries in
/// the log (its CloudEvents <c>traceparent</c>), with a child per stage: <c>dependency</c> (transform and filters),
/// <c>conditions</c>, <c>dedup</c>, <c>rateLimit</c>, <c>trigger</c>. Each stage's span says its outcome and why.
/// Nothing is made while no one listens to <see cref="SourceName"/>.
/// </summary>
public static class SensorTracing
{
    public const string SourceName = "EventGateway.Sensors";

    private static readonly ActivitySource Source = new(SourceName);

    internal static Activity? Event(Sensor sensor, LoggedEvent logged)
    {
        if (!Source.HasListeners()) return null;
        var parent = logged.Event.TraceParent is { } tp && ActivityContext.TryParse(tp, null, out var ctx) ? ctx : default;
        // An event without a trace context (logged while tracing was off) starts a trace of its own, not one under whatever is current.
        Activity.Current = null;
        return Source.StartActivity("sensor", ActivityKind.Consumer, parent,
        [
            new("namespace", sensor.NamespaceOrDefault), new("sensor_name", sensor.Name), new("sequence", logged.Sequence),
            new("cloudevents.event_id", logged.Event.Id), new("eventsource_name", logged.Event.Source), new("event_name", logged.Event.Subject),
        ]);
    }

    /// <summary>A stage under the current sensor span; null when there is none.</summary>
    internal static Activity? Stage(string name, params (string Key, string? Value)[] tags)
    {
        if (Activity.Current is not { Source.Name: SourceName }) return null;
        var span = Source.StartActivity(name, ActivityKind.Internal);
        foreach (var (k, v) in tags) span?.SetTag(k, v);
        return span;
    }

    internal static void Outcome(Activity? stage, string outcome, string? reason)
    {
        if (stage is null) return;
        stage.SetTag("outcome", outcome);
        if (reason is not null) stage.SetTag("reason", reason);
        if (outcome == Outcomes.Failed) stage.SetStatus(ActivityStatusCode.Error, reason);
    }
}
