using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.Parameters;
using EventGateway.Events.Sensors.Triggers;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.Sensors;

/// <summary>
/// A trigger's own <c>parameters</c> (trigger level, not the kind's payload parameters): they rewrite its template,
/// e.g. the URL or the workflow's source, from the events before it fires. Shared by the sensor pipeline and the
/// dead-letter replay so both fire exactly the same request.
/// </summary>
public static class TriggerParameters
{
    /// <summary>The trigger with its template rewritten; the same instance when it has no parameters.</summary>
    /// <exception cref="TriggerException">a parameter cannot be resolved; not retryable, the events will not change.</exception>
    public static SensorTrigger Apply(SensorTrigger trigger, IReadOnlyDictionary<string, CloudEvent> events)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(events);
        if (trigger.Parameters is not { Count: > 0 } parameters || trigger.Template is null) return trigger;
        JsonNode template = JsonSerializer.SerializeToNode(trigger.Template, Json.Options)!;
        try
        {
            template = ParameterResolver.Apply(template, parameters, events);
        }
        catch (ParameterException e)
        {
            throw new TriggerException($"parameters: {e.Message}", retryable: false, e);
        }
        return new SensorTrigger
        {
            Template = template.Deserialize<TriggerTemplate>(Json.Lenient),
            Policy = trigger.Policy,
            RetryStrategy = trigger.RetryStrategy,
            RateLimit = trigger.RateLimit,
            AtLeastOnce = trigger.AtLeastOnce,
            DlqTrigger = trigger.DlqTrigger,
        };
    }
}
