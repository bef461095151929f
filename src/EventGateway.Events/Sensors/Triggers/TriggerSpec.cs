using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Events.Sensors.Parameters;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// Reads a trigger kind's JSON (Argo's shape, kept as a JsonObject in the Sensor) into its typed spec, with the
/// field path and reason of anything malformed, and the checks shared by several kinds (secret selectors,
/// parameter lists, secure headers). The same checks run at load time and, after parameters rewrote the kind,
/// at fire time, so what a parameter writes is held to the same rules as what the manifest says.
/// </summary>
internal static class TriggerSpec
{
    private static readonly string[] ParameterOperations = ["overwrite", "append", "prepend"];

    /// <summary>The typed spec, or null after reporting the first malformed field (unknown field, wrong type).</summary>
    public static T? Read<T>(JsonObject node, string at, Action<string, string> fail) where T : class
    {
        try
        {
            return node.Deserialize<T>(Json.Options) ?? throw new JsonException("is null");
        }
        catch (JsonException e)
        {
            var (path, reason) = Explain(e);
            fail(path.Length == 0 ? at : $"{at}.{path}", reason);
            return null;
        }
    }

    /// <summary>System.Text.Json's message as a relative field path and a reason a person can act on.</summary>
    private static (string Path, string Reason) Explain(JsonException e)
    {
        var path = e.Path is null or "$" ? "" : e.Path.StartsWith("$.", StringComparison.Ordinal) ? e.Path[2..] : e.Path.TrimStart('$');
        var message = e.Message;
        const string Unmapped = "The JSON property '";
        if (message.StartsWith(Unmapped, StringComparison.Ordinal))
        {
            var field = message[Unmapped.Length..message.IndexOf('\'', Unmapped.Length)];
            // The serializer names the parent object for an unknown member.
            var full = path.Length == 0 ? field : path.EndsWith(field, StringComparison.Ordinal) ? path : $"{path}.{field}";
            return (full, $"unknown field \"{field}\"");
        }

        if (message.Contains("could not be converted to ", StringComparison.Ordinal))
        {
            var target = message[(message.IndexOf("could not be converted to ", StringComparison.Ordinal) + 26)..];
            if (target.IndexOf(". Path", StringComparison.Ordinal) is > 0 and var end) target = target[..end];
            return (path, $"wrong type: expected {Expected(target)}");
        }

        return (path, e.InnerException?.Message ?? message.ReplaceLineEndings(" "));
    }

    private static string Expected(string clrType) => clrType switch
    {
        _ when clrType.Contains("Collections.Generic.List", StringComparison.Ordinal) => "a list",
        _ when clrType.Contains("Collections.Generic.Dictionary", StringComparison.Ordinal) => "a mapping of strings",
        _ when clrType.Contains("Int", StringComparison.Ordinal) => "an integer",
        _ when clrType.Contains("Double", StringComparison.Ordinal) => "a number",
        _ when clrType.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ when clrType.Contains("String", StringComparison.Ordinal) => "a string",
        _ => "a mapping",
    };

    /// <summary>Collects a spec's problems and turns them into one non-retryable failure: a bad configuration stays bad.</summary>
    public static TriggerException Refusal(IEnumerable<string> problems) =>
        new(string.Join("; ", problems), retryable: false);

    public static void Selector(SecretKeySelector? selector, string at, Action<string, string> fail)
    {
        if (selector is null) return;
        if (string.IsNullOrEmpty(selector.Name)) fail($"{at}.name", "missing: the Secret's name");
        if (string.IsNullOrEmpty(selector.Key)) fail($"{at}.key", "missing: the key within the Secret");
    }

    /// <param name="destRequired">false for an HTTP payload, where an empty dest makes the value the whole body.</param>
    public static void Parameters(List<TriggerParameter>? parameters, string at, IReadOnlyCollection<string>? dependencies, bool destRequired, Action<string, string> fail)
    {
        for (var i = 0; i < (parameters?.Count ?? 0); i++)
        {
            var p = parameters![i];
            var pat = $"{at}[{i}]";
            if (p is null) { fail(pat, "is null: expected a parameter with src and dest"); continue; }
            if (p.Src is null) fail($"{pat}.src", "missing: where the value comes from");
            else if (string.IsNullOrEmpty(p.Src.DependencyName) && p.Src.Value is null) fail($"{pat}.src.dependencyName", "missing: name a dependency or give a value");
            else if (!string.IsNullOrEmpty(p.Src.DependencyName) && dependencies is not null && !dependencies.Contains(p.Src.DependencyName))
                fail($"{pat}.src.dependencyName", $"'{p.Src.DependencyName}' is not a dependency of this Sensor");
            if (destRequired && string.IsNullOrEmpty(p.Dest)) fail($"{pat}.dest", "missing: where to write the value");
            if (p.Operation is { Length: > 0 } op && !ParameterOperations.Contains(op))
                fail($"{pat}.operation", $"'{op}' is not one of {string.Join(", ", ParameterOperations)}");
        }
    }

    public static void SecureHeaders(List<SecureHeaderSpec>? headers, string at, Action<string, string> fail)
    {
        for (var i = 0; i < (headers?.Count ?? 0); i++)
        {
            var h = headers![i];
            var hat = $"{at}[{i}]";
            if (h is null) { fail(hat, "is null: expected name and valueFrom"); continue; }
            if (string.IsNullOrEmpty(h.Name)) fail($"{hat}.name", "missing: the header's name");
            if (h.ValueFrom is not { } from) { fail($"{hat}.valueFrom", "missing: valueFrom.secretKeyRef naming the Secret and key"); continue; }
            if (from.ConfigMapKeyRef is not null)
                fail($"{hat}.valueFrom.configMapKeyRef", "values from ConfigMaps are not supported for secure headers; use secretKeyRef");
            else if (from.SecretKeyRef is null) fail($"{hat}.valueFrom.secretKeyRef", "missing: the Secret and key holding the value");
            Selector(from.SecretKeyRef, $"{hat}.valueFrom.secretKeyRef", fail);
        }
    }

    /// <summary>A Secret's value for a firing; a missing one is a configuration error unless the selector is optional.</summary>
    /// <exception cref="TriggerException">non-retryable: the Secret or key does not exist.</exception>
    public static async Task<string?> SecretAsync(TriggerContext context, string @namespace, SecretKeySelector selector, string field, CancellationToken ct)
    {
        var value = await context.Secrets.ReadAsync(@namespace, selector, ct).ConfigureAwait(false);
        if (value is null && selector.Optional != true)
            throw new TriggerException($"{field}: secret {@namespace}/{selector.Name} has no key '{selector.Key}'", retryable: false);
        return value;
    }

    /// <summary>The secure headers' names and values, in order; optional ones whose Secret is missing are left out.</summary>
    public static async Task<List<KeyValuePair<string, string>>> SecureHeaderValuesAsync(
        List<SecureHeaderSpec>? headers, TriggerContext context, string @namespace, string at, CancellationToken ct)
    {
        var values = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < (headers?.Count ?? 0); i++)
        {
            var h = headers![i];
            var value = await SecretAsync(context, @namespace, h.ValueFrom!.SecretKeyRef!, $"{at}[{i}].valueFrom.secretKeyRef", ct).ConfigureAwait(false);
            if (value is not null) values.Add(new(h.Name!, value));
        }

        return values;
    }

    /// <summary>The kind's own <c>parameters</c> applied onto its JSON (a copy); failures name the parameter.</summary>
    /// <exception cref="TriggerException">non-retryable: a parameter cannot be resolved or written.</exception>
    public static JsonObject ApplyParameters(JsonObject kind, List<TriggerParameter>? parameters, TriggerFiring firing, string at)
    {
        if (parameters is not { Count: > 0 }) return kind;
        try
        {
            return ParameterResolver.Apply(kind, parameters, firing.Events) as JsonObject
                ?? throw new TriggerException($"{at}: parameters turned the trigger into something other than a mapping", retryable: false);
        }
        catch (ParameterException e)
        {
            throw new TriggerException($"{at}.parameters{(e.Index is { } i ? $"[{i}]" : "")}: {e.Reason}", retryable: false, e);
        }
    }

    /// <summary>The request or message body from <c>payload</c>; failures name the payload entry.</summary>
    /// <exception cref="TriggerException">non-retryable: a payload parameter cannot be resolved or written.</exception>
    public static byte[] Payload(List<TriggerParameter>? payload, TriggerFiring firing, string at)
    {
        try
        {
            return PayloadBuilder.Build(payload, firing.Events);
        }
        catch (ParameterException e)
        {
            throw new TriggerException($"{at}.payload{(e.Index is { } i ? $"[{i}]" : "")}: {e.Reason}", retryable: false, e);
        }
    }
}

/// <summary>Argo's <c>SecureHeader</c>: a header whose value comes from a Secret.</summary>
internal sealed class SecureHeaderSpec
{
    public string? Name { get; set; }
    public ValueFromSource? ValueFrom { get; set; }
}

/// <summary>Argo's <c>ValueFromSource</c>; ConfigMap values are refused by validation.</summary>
internal sealed class ValueFromSource
{
    public SecretKeySelector? SecretKeyRef { get; set; }
    public JsonObject? ConfigMapKeyRef { get; set; }
}

/// <summary>Argo's <c>BasicAuth</c>: username and password from Secrets; either may be left out (empty).</summary>
internal sealed class BasicAuthSpec
{
    public SecretKeySelector? Username { get; set; }
    public SecretKeySelector? Password { get; set; }
}
