using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Events.Log;
using EventGateway.Languages.Json;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Parameters;

/// <summary>
/// Argo Events' ConstructPayload (pkg/sensors/triggers/params.go): the body of an HTTP request or Kafka message,
/// built from nothing by writing each payload parameter's value at its <c>dest</c>.
/// </summary>
/// <remarks>
/// As in Argo: values are strings unless the match is not a string and <c>src.useRawData</c> is set (then the
/// JSON is embedded); <c>operation</c> plays no part; an empty <c>dest</c> makes that value the whole body and
/// ends the construction. A parameter whose dependency did not fire and has no default is skipped (Argo would
/// crash on it).
/// </remarks>
public static class PayloadBuilder
{
    private static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <returns>The body: empty without parameters (Argo sends nothing), <c>{}</c> when every parameter was skipped.</returns>
    /// <exception cref="ParameterException">A parameter cannot be resolved or written; <see cref="ParameterException.Index"/> names it.</exception>
    public static byte[] Build(IReadOnlyList<TriggerParameter>? parameters, IReadOnlyDictionary<string, CloudEvent> eventsByDependency)
    {
        ArgumentNullException.ThrowIfNull(eventsByDependency);
        if (parameters is not { Count: > 0 }) return [];

        JsonNode? body = null;
        for (var i = 0; i < parameters.Count; i++)
        {
            var parameter = parameters[i] ?? throw new ParameterException(i, "is null");
            var src = parameter.Src ?? throw new ParameterException(i, "src is required");
            ResolvedValue? resolved;
            try
            {
                resolved = ParameterResolver.Resolve(src, eventsByDependency);
            }
            catch (ParameterException e)
            {
                throw new ParameterException(i, e.Reason);
            }

            if (resolved is null) continue;
            var dest = parameter.Dest ?? string.Empty;
            if (dest.Length == 0) return Encoding.UTF8.GetBytes(resolved.Text);

            var value = !resolved.IsString && src.UseRawData == true ? JsonNode.Parse(resolved.Text) : JsonValue.Create(resolved.Text);
            try
            {
                body = SJson.Set(body, dest, value);
            }
            catch (ArgumentException e)
            {
                throw new ParameterException(i, $"dest \"{dest}\": {e.Message}");
            }
        }

        return JsonSerializer.SerializeToUtf8Bytes(body ?? new JsonObject(), Output);
    }
}
