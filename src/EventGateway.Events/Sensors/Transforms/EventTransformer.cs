using System.Buffers;
using System.Text.Json;
using EventGateway.Events.Log;
using EventGateway.Languages;
using EventGateway.Languages.Jq;
using EventGateway.Languages.Lua;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Transforms;

/// <summary>
/// A dependency's <c>transform</c>, applied before its filters, with Argo Events' semantics
/// (pkg/sensors/dependencies/transform.go): jq runs against the event data and its FIRST output, which must be a
/// JSON object, replaces the data; a Lua script sees the data as the global <c>event</c> and must return a table,
/// which becomes the data. When both are set, Argo runs jq and ignores the script; so does this. An event without
/// data passes unchanged. The new data is JSON, so the content type becomes <c>application/json</c>; every other
/// envelope field stays. Any failure is a <see cref="TransformException"/>: Argo discards the event.
/// </summary>
/// <remarks>
/// Deliberately wider than Argo where Argo only fails: the input data may be any JSON value, not only an object.
/// </remarks>
public static class EventTransformer
{
    private static readonly JsonDocumentOptions DataOptions = new() { MaxDepth = 256 };

    private static readonly JsonWriterOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static CloudEvent Apply(DependencyTransform transform, CloudEvent e, TimeProvider? time = null, LuaLimits? luaLimits = null)
    {
        ArgumentNullException.ThrowIfNull(transform);
        ArgumentNullException.ThrowIfNull(e);
        var jq = string.IsNullOrEmpty(transform.Jq) ? null : transform.Jq;
        var script = string.IsNullOrEmpty(transform.Script) ? null : transform.Script;
        if (jq is null && script is null || e.Data.IsEmpty)
        {
            return e;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(e.Data, DataOptions);
        }
        catch (JsonException ex)
        {
            throw new TransformException($"cannot transform event {e.Id}: its data is not valid JSON ({ex.Message})", ex);
        }

        using (document)
        {
            var data = jq is not null ? RunJq(jq, document.RootElement, time) : RunScript(script!, document.RootElement, luaLimits);
            return e with { Data = data, DataContentType = "application/json" };
        }
    }

    /// <summary>Load-time check under <paramref name="at"/> (<c>spec.dependencies[i].transform</c>): one of jq or script, each compiling.</summary>
    public static void Validate(DependencyTransform transform, string at, Action<string, string> fail)
    {
        ArgumentNullException.ThrowIfNull(transform);
        ArgumentNullException.ThrowIfNull(fail);
        var hasJq = !string.IsNullOrEmpty(transform.Jq);
        var hasScript = !string.IsNullOrEmpty(transform.Script);
        if (!hasJq && !hasScript)
        {
            fail(at, "set jq or script");
            return;
        }

        if (hasJq)
        {
            try
            {
                JqProgram.Parse(transform.Jq!);
            }
            catch (TransformException ex)
            {
                fail($"{at}.jq", $"cannot parse jq: {ex.Message}");
            }
        }

        if (hasScript && LuaScript.SyntaxError(transform.Script!) is { } syntax)
        {
            fail($"{at}.script", $"cannot compile Lua script: {syntax}");
        }
    }

    private static ReadOnlyMemory<byte> RunJq(string jq, JsonElement data, TimeProvider? time)
    {
        JqOutput? first;
        try
        {
            first = JqProgram.Parse(jq).Outputs(data, time).FirstOrDefault();
        }
        catch (TransformException ex)
        {
            throw new TransformException($"jq transform failed: {ex.Message}", ex);
        }

        if (first is null)
        {
            throw new TransformException("jq transform produced no output");
        }

        if (!first.IsObject)
        {
            throw new TransformException($"jq transform must produce a JSON object (it replaces the event data), but produced {first.Describe()}");
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, Relaxed))
        {
            first.WriteTo(w);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static ReadOnlyMemory<byte> RunScript(string script, JsonElement data, LuaLimits? limits)
    {
        try
        {
            return LuaScript.Transform(script, data, limits);
        }
        catch (TransformException ex)
        {
            throw new TransformException($"script transform failed: {ex.Message}", ex);
        }
    }
}
