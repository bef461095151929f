using System.Text.Json;
using EventGateway.Events.Log;

namespace EventGateway.Events.Sensors.Filters;

/// <summary>
/// What filters see of an event: the CloudEvents context plus the data bytes. No data (null or empty)
/// lets data and expr filters pass, as Argo does for an event without a payload.
/// </summary>
public sealed record CloudEventView(
    string Id,
    string Source,
    string SpecVersion,
    string Type,
    string Subject,
    DateTimeOffset? Time,
    string DataContentType,
    ReadOnlyMemory<byte> Data)
{
    public static CloudEventView From(CloudEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new(e.Id, e.Source, e.SpecVersion, e.Type, e.Subject, e.Time, e.DataContentType, e.Data);
    }

    /// <summary>Parses the data once per evaluation; null when there is none.</summary>
    /// <exception cref="JsonException">The data is not valid JSON.</exception>
    internal JsonDocument? ParseData() => Data.IsEmpty ? null : JsonDocument.Parse(Data);
}
