using System.Text.Json.Nodes;

namespace EventGateway.Model;

/// <summary>
/// Argo Events <c>Sensor</c>: dependencies on (EventSource, event name) pairs and the triggers they fire.
/// Stored as the user wrote it; the sensor pipeline gives the spec its meaning.
/// </summary>
public sealed class Sensor : Resource
{
    public JsonObject Spec { get; set; } = new();
    public JsonObject? Status { get; set; }
}
