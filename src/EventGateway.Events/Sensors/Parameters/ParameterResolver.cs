using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Events.Log;
using EventGateway.Languages.GoTemplates;
using EventGateway.Languages.Json;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Parameters;

/// <summary>
/// Argo Events trigger parameterization (pkg/sensors/triggers/params.go): resolve each parameter's value from the
/// events that satisfied the trigger and write it into the trigger's resource at <c>dest</c>.
/// </summary>
public static class ParameterResolver
{
    /// <summary>The parameter's value, or null when its dependency has no event and there is no default.</summary>
    /// <exception cref="ParameterException">Neither template, key nor default yields a value.</exception>
    public static string? ResolveValue(TriggerParameterSource src, IReadOnlyDictionary<string, CloudEvent> eventsByDependency) =>
        Resolve(src, eventsByDependency)?.Text;

    /// <summary>As <see cref="ResolveValue"/>, keeping gjson's type of the match for <c>useRawData</c>.</summary>
    public static ResolvedValue? Resolve(TriggerParameterSource src, IReadOnlyDictionary<string, CloudEvent> eventsByDependency) =>
        Resolve(src, eventsByDependency, index: null);

    /// <summary>
    /// A copy of <paramref name="target"/> with every parameter applied in order (later ones see earlier writes).
    /// The target is never modified, so a failure changes nothing.
    /// </summary>
    /// <exception cref="ParameterException">A parameter cannot be resolved or written; the message names its index.</exception>
    public static JsonNode Apply(JsonNode target, IReadOnlyList<TriggerParameter> parameters, IReadOnlyDictionary<string, CloudEvent> eventsByDependency)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(eventsByDependency);

        var result = target.DeepClone();
        for (var i = 0; i < parameters.Count; i++)
        {
            result = ApplyOne(result, parameters[i], i, eventsByDependency);
        }

        return result;
    }

    private static JsonNode ApplyOne(JsonNode json, TriggerParameter parameter, int index, IReadOnlyDictionary<string, CloudEvent> events)
    {
        if (parameter.Src is null)
        {
            throw new ParameterException(index, "src is required");
        }

        var operation = parameter.Operation ?? string.Empty;
        if (operation is not ("" or "overwrite" or "append" or "prepend"))
        {
            throw new ParameterException(index, $"unsupported operation \"{operation}\" (want overwrite, append or prepend)");
        }

        var resolved = Resolve(parameter.Src, events, index);
        if (resolved is null)
        {
            return json; // dependency not in this round (an || condition) and no default: Argo skips the parameter
        }

        var dest = parameter.Dest ?? string.Empty;
        if (operation is "append" or "prepend" && dest.Length > 0 && Existing(json, dest) is { } current)
        {
            // Argo concatenates with the existing value's string form, and the result is always a string.
            var existing = GoString(current);
            resolved = ResolvedValue.Literal(operation == "append" ? existing + resolved.Text : resolved.Text + existing);
        }

        JsonNode? value;
        if (!resolved.IsString && parameter.Src.UseRawData == true)
        {
            value = JsonNode.Parse(resolved.Text);
        }
        else
        {
            value = JsonValue.Create(resolved.Text);
        }

        try
        {
            return SJson.Set(json, dest, value);
        }
        catch (ArgumentException e)
        {
            throw new ParameterException(index, $"dest \"{dest}\": {e.Message}");
        }
    }

    private static JsonElement? Existing(JsonNode json, string dest)
    {
        var element = JsonSerializer.SerializeToElement(json);
        return GJson.Get(element, dest);
    }

    private static ResolvedValue? Resolve(TriggerParameterSource src, IReadOnlyDictionary<string, CloudEvent> events, int? index)
    {
        ArgumentNullException.ThrowIfNull(src);
        ArgumentNullException.ThrowIfNull(events);

        var dependency = src.DependencyName ?? string.Empty;
        if (!events.TryGetValue(dependency, out var e))
        {
            // Not an error: with || conditions a referenced dependency may simply not have fired.
            return src.Value is { } fallback ? ResolvedValue.Literal(fallback) : null;
        }

        bool useContext = !string.IsNullOrEmpty(src.ContextKey) || !string.IsNullOrEmpty(src.ContextTemplate);
        bool useData = !string.IsNullOrEmpty(src.DataKey) || !string.IsNullOrEmpty(src.DataTemplate);
        if (!useContext && !useData)
        {
            return ResolvedValue.Literal(src.Value ?? EventPayload.WholeEvent(e));
        }

        // Data selectors win outright: a contextKey next to a dataKey or dataTemplate is ignored, as in Argo.
        string? key = useData ? src.DataKey : src.ContextKey;
        string? template = useData ? src.DataTemplate : src.ContextTemplate;
        string where = useData ? "data" : "context";
        byte[]? payload;
        string? payloadError;
        if (useData)
        {
            payload = EventPayload.Data(e, out payloadError);
        }
        else
        {
            payload = System.Text.Encoding.UTF8.GetBytes(EventPayload.Context(e));
            payloadError = null;
        }

        if (payload is null)
        {
            return src.Value is { } fallback
                ? ResolvedValue.Literal(fallback)
                : throw Unresolved(index, dependency, payloadError!);
        }

        using var document = JsonDocument.Parse(payload);
        var reasons = new List<string>(2);
        if (!string.IsNullOrEmpty(template))
        {
            if (Render(template, document.RootElement, out var rendered, out var why))
            {
                return ResolvedValue.Literal(rendered);
            }

            reasons.Add(why);
        }

        if (!string.IsNullOrEmpty(key))
        {
            if (GJson.Get(document.RootElement, key) is { } found)
            {
                return ByKey(found);
            }

            reasons.Add($"{where}Key \"{key}\" does not exist in the event {where}");
        }

        return src.Value is { } value
            ? ResolvedValue.Literal(value)
            : throw Unresolved(index, dependency, string.Join("; ", reasons) + " and no default value is set");
    }

    private static ParameterException Unresolved(int? index, string dependency, string reason) =>
        new(index, $"unable to resolve the value from dependency \"{dependency}\": {reason}");

    /// <summary>Argo's template step: <c>.Input</c> is the whole context or data; empty or "&lt;no value&gt;" counts as failure.</summary>
    private static bool Render(string template, JsonElement input, out string output, out string why)
    {
        output = string.Empty;
        why = string.Empty;
        try
        {
            output = GoTemplate.Parse(template).Render(new Dictionary<string, object?> { ["Input"] = input });
        }
        catch (GoTemplateException e)
        {
            why = $"template \"{template}\" failed: {e.Message}";
            return false;
        }

        if (output.Length == 0 || output == "<no value>")
        {
            why = $"template \"{template}\" evaluated to empty string or no value";
            return false;
        }

        return true;
    }

    /// <summary>gjson's view of a match: objects, arrays and null as raw JSON, scalars in their string form.</summary>
    private static ResolvedValue ByKey(JsonElement found) => found.ValueKind switch
    {
        JsonValueKind.Object or JsonValueKind.Array => new(found.GetRawText(), ResolvedValue.JsonType),
        JsonValueKind.Null => new("null", "Null"),
        JsonValueKind.String => ResolvedValue.Literal(found.GetString()!),
        JsonValueKind.Number => new(GoNumber(found.GetRawText()), "Number"),
        JsonValueKind.True => new("true", "True"),
        _ => new("false", "False"),
    };

    /// <summary>gjson's Result.String() of an existing value at dest (used by append/prepend).</summary>
    private static string GoString(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => GoNumber(value.GetRawText()),
        _ => GJson.ToGoString(value),
    };

    /// <summary>gjson prints integers as written and any other number as Go's FormatFloat(f, 'f', -1, 64).</summary>
    internal static string GoNumber(string raw)
    {
        var digits = raw.StartsWith('-') ? raw.AsSpan(1) : raw.AsSpan();
        if (digits.Length > 0 && !digits.ContainsAnyExcept("0123456789"))
        {
            return raw;
        }

        var d = double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
        return FixedNotation(d);
    }

    private static string FixedNotation(double d)
    {
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOfAny(['E', 'e']);
        if (e < 0)
        {
            return r;
        }

        var negative = r.StartsWith('-');
        var mantissa = r[(negative ? 1 : 0)..e];
        var exponent = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var dot = mantissa.IndexOf('.');
        var allDigits = mantissa.Replace(".", string.Empty, StringComparison.Ordinal);
        var pointAt = (dot < 0 ? mantissa.Length : dot) + exponent;
        string text;
        if (pointAt <= 0)
        {
            text = "0." + new string('0', -pointAt) + allDigits;
        }
        else if (pointAt >= allDigits.Length)
        {
            text = allDigits + new string('0', pointAt - allDigits.Length);
        }
        else
        {
            text = allDigits[..pointAt] + "." + allDigits[pointAt..];
        }

        return (negative ? "-" : string.Empty) + text;
    }
}
