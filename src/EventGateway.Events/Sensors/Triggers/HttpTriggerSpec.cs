using System.Text.Json.Nodes;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>Argo's <c>HTTPTrigger</c> (sensor_types.go), read from <c>template.http</c>.</summary>
internal sealed class HttpTriggerSpec
{
    /// <summary>Argo's default when <c>timeout</c> is unset or 0.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The methods Argo's validation accepts, spelled as it requires (upper case).</summary>
    public static readonly string[] Methods = ["GET", "DELETE", "PATCH", "POST", "PUT"];

    public string? Url { get; set; }
    public List<TriggerParameter>? Payload { get; set; }
    public TlsConfig? Tls { get; set; }
    public string? Method { get; set; }
    public List<TriggerParameter>? Parameters { get; set; }

    /// <summary>Seconds; Argo's is an integer, fractions are accepted here.</summary>
    public double? Timeout { get; set; }
    public BasicAuthSpec? BasicAuth { get; set; }
    public Dictionary<string, string>? Headers { get; set; }
    public List<SecureHeaderSpec>? SecureHeaders { get; set; }

    /// <summary>Headers whose values come from the events: <c>dest</c> is the header name.</summary>
    public List<TriggerParameter>? DynamicHeaders { get; set; }

    /// <summary>The Host header (virtual hosting), when it differs from the URL's.</summary>
    public string? Host { get; set; }

    public string EffectiveMethod => string.IsNullOrEmpty(Method) ? "POST" : Method;

    public TimeSpan EffectiveTimeout => Timeout is > 0 and var t ? TimeSpan.FromSeconds(t) : DefaultTimeout;

    public void Validate(string at, IReadOnlyCollection<string>? dependencies, Action<string, string> fail)
    {
        if (string.IsNullOrEmpty(Url)) fail($"{at}.url", "missing: the URL to call");
        else if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            fail($"{at}.url", $"'{Url}' is not an absolute http or https URL");

        if (!string.IsNullOrEmpty(Method) && !Methods.Contains(Method, StringComparer.Ordinal))
            fail($"{at}.method", $"'{Method}' is not one of {string.Join(", ", Methods)}");
        if (Timeout is { } t && (!double.IsFinite(t) || t < 0 || t > TimeSpan.FromDays(1).TotalSeconds))
            fail($"{at}.timeout", $"must be a number of seconds from 0 (Argo's default, 60) to 86400, got {t}");

        if (Tls is { } tls)
        {
            foreach (var (field, set) in new[] { ("caCertSecret", tls.CaCertSecret), ("clientCertSecret", tls.ClientCertSecret), ("clientKeySecret", tls.ClientKeySecret) })
            {
                if (set is not null) fail($"{at}.tls.{field}", "custom CAs and client certificates are not supported for http triggers yet; only tls.insecureSkipVerify is");
            }
        }

        if (BasicAuth is { } auth)
        {
            if (auth.Username is null && auth.Password is null) fail($"{at}.basicAuth", "set username, password or both (Secret selectors)");
            TriggerSpec.Selector(auth.Username, $"{at}.basicAuth.username", fail);
            TriggerSpec.Selector(auth.Password, $"{at}.basicAuth.password", fail);
        }

        foreach (var (name, _) in Headers ?? [])
        {
            if (!IsToken(name)) fail($"{at}.headers.{name}", $"'{name}' is not a valid HTTP header name");
        }

        TriggerSpec.SecureHeaders(SecureHeaders, $"{at}.secureHeaders", fail);
        for (var i = 0; i < (SecureHeaders?.Count ?? 0); i++)
        {
            if (SecureHeaders![i]?.Name is { Length: > 0 } name && !IsToken(name)) fail($"{at}.secureHeaders[{i}].name", $"'{name}' is not a valid HTTP header name");
        }

        TriggerSpec.Parameters(DynamicHeaders, $"{at}.dynamicHeaders", dependencies, destRequired: true, fail);
        for (var i = 0; i < (DynamicHeaders?.Count ?? 0); i++)
        {
            if (DynamicHeaders![i]?.Dest is { Length: > 0 } name && !IsToken(name)) fail($"{at}.dynamicHeaders[{i}].dest", $"'{name}' is not a valid HTTP header name");
        }

        TriggerSpec.Parameters(Parameters, $"{at}.parameters", dependencies, destRequired: true, fail);
        TriggerSpec.Parameters(Payload, $"{at}.payload", dependencies, destRequired: false, fail);
    }

    /// <summary><c>policy.status.allow</c>: the response codes that count as success; null when there is no such policy.</summary>
    public static IReadOnlyList<int>? AllowedStatuses(JsonObject? policy, string at, Action<string, string> fail)
    {
        if (policy?["status"] is not { } status) return null;
        if (status is not JsonObject statusObject) { fail($"{at}.status", "must be a mapping with allow: [status codes]"); return null; }
        foreach (var (field, _) in statusObject)
        {
            if (field != "allow") fail($"{at}.status.{field}", $"unknown field \"{field}\"");
        }

        if (statusObject["allow"] is not JsonArray allow) { fail($"{at}.status.allow", "missing: the list of response status codes that count as success"); return null; }
        var codes = new List<int>(allow.Count);
        for (var i = 0; i < allow.Count; i++)
        {
            if (allow[i] is JsonValue v && v.TryGetValue<int>(out var code) && code is >= 100 and <= 599) codes.Add(code);
            else fail($"{at}.status.allow[{i}]", $"'{allow[i]?.ToJsonString() ?? "null"}' is not an HTTP status code (100-599)");
        }

        return codes;
    }

    private static bool IsToken(string name) =>
        name.Length > 0 && name.All(c => c is > ' ' and < '\u007f' && !"\"(),/:;<=>?@[\\]{}".Contains(c));
}
