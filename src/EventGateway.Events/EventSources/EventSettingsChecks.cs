using EventGateway.Model;

namespace EventGateway.Events.EventSources;

/// <summary>Load-time checks of settings several source types share: an HTTP listener, a Secret reference, a filter.</summary>
public static class EventSettingsChecks
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    /// <summary>Checks a WebhookContext: port, endpoint, method, size limit, TLS pair, the deprecated file paths.</summary>
    public static void ValidateWebhookContext(string at, WebhookContext? c, Action<string, string> fail)
    {
        if (c is null) { fail(at, "missing: webhook settings (port, endpoint, method)"); return; }
        if (string.IsNullOrEmpty(c.Port)) fail($"{at}.port", "missing: the port to listen on");
        else if (!int.TryParse(c.Port, out var port) || port is < 1 or > 65535) fail($"{at}.port", $"'{c.Port}' is not a port number (1-65535)");
        if (string.IsNullOrEmpty(c.Endpoint)) fail($"{at}.endpoint", "missing: the path to serve, e.g. /push");
        else if (!c.Endpoint.StartsWith('/')) fail($"{at}.endpoint", $"'{c.Endpoint}' must start with '/'");
        else if (c.Endpoint == "/health") fail($"{at}.endpoint", "/health is reserved for the listener's health check");
        if (c.Method is not null && !Methods.Contains(c.Method.ToUpperInvariant()))
            fail($"{at}.method", $"'{c.Method}' is not an HTTP method; expected one of {string.Join(", ", Methods)}");
        if (c.MaxPayloadSize is <= 0) fail($"{at}.maxPayloadSize", $"must be a positive number of bytes, got {c.MaxPayloadSize}");
        if ((c.ServerCertSecret is null) != (c.ServerKeySecret is null))
            fail($"{at}.{(c.ServerCertSecret is null ? "serverCertSecret" : "serverKeySecret")}", "TLS needs both serverCertSecret and serverKeySecret");
        if (c.ServerCertPath is not null || c.ServerKeyPath is not null)
            fail($"{at}.{(c.ServerCertPath is not null ? "serverCertPath" : "serverKeyPath")}", "file paths on the pod are deprecated in Argo and not read here; use serverCertSecret and serverKeySecret");
        ValidateSelector($"{at}.authSecret", c.AuthSecret, fail);
        ValidateSelector($"{at}.serverCertSecret", c.ServerCertSecret, fail);
        ValidateSelector($"{at}.serverKeySecret", c.ServerKeySecret, fail);
    }

    public static void ValidateSelector(string at, SecretKeySelector? s, Action<string, string> fail)
    {
        if (s is null) return;
        if (string.IsNullOrEmpty(s.Name)) fail($"{at}.name", "missing: the Secret's name");
        if (string.IsNullOrEmpty(s.Key)) fail($"{at}.key", "missing: the key within the Secret");
    }

    public static void ValidateFilter(string at, EventSourceFilter? filter, Action<string, string> fail)
    {
        if (filter?.Expression is not { } e) return;
        if (EventFilter.Validate(e) is { } why) fail($"{at}.filter.expression", $"not a valid expression: {why}");
    }
}
