using System.Globalization;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.EventSources.S3;

/// <summary>
/// How bucket events reach a <c>minio</c>/<c>s3</c> event: polling the bucket (the default) or S3
/// event notifications POSTed to us. Argo has no field for this, so it is chosen per EventSource by
/// annotations on its metadata, which keeps the YAML valid Argo.
/// </summary>
public sealed record S3Delivery(
    TimeSpan PollInterval,
    int PollMaxObjects,
    int? NotificationPort,
    string? NotificationEndpoint,
    SecretKeySelector? NotificationToken)
{
    public const string Prefix = "eventgateway.io/s3-";
    public const string PollIntervalAnnotation = Prefix + "poll-interval";
    public const string PollMaxObjectsAnnotation = Prefix + "poll-max-objects";
    public const string NotificationPortAnnotation = Prefix + "notification-port";
    public const string NotificationEndpointAnnotation = Prefix + "notification-endpoint";
    public const string NotificationTokenAnnotation = Prefix + "notification-token";

    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan MinPollInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxPollInterval = TimeSpan.FromHours(24);

    /// <summary>
    /// Objects one poll tracks. The whole listing is kept in one checkpoint row rewritten with every
    /// change, so it is bounded; a bucket prefix holding more fails the poll with a message instead.
    /// </summary>
    public const int DefaultPollMaxObjects = 10_000;
    public const int MaxPollMaxObjects = 100_000;

    private static readonly string[] KnownAnnotations =
        [PollIntervalAnnotation, PollMaxObjectsAnnotation, NotificationPortAnnotation, NotificationEndpointAnnotation, NotificationTokenAnnotation];

    public bool Polls => NotificationPort is null;

    /// <summary>The poll interval as Go writes durations (<c>10s</c>, <c>1m30s</c>, <c>500ms</c>), for messages.</summary>
    public string PollEvery => FormatDuration(PollInterval);

    public static string FormatDuration(TimeSpan d)
    {
        if (d < TimeSpan.FromSeconds(1)) return $"{d.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms";
        var text = "";
        if (d.Hours + d.Days * 24 > 0) text += $"{d.Hours + d.Days * 24}h";
        if (d.Minutes > 0 || text.Length > 0) text += $"{d.Minutes}m";
        return text + $"{(d.Seconds + d.Milliseconds / 1000.0).ToString(CultureInfo.InvariantCulture)}s";
    }

    /// <summary>The path notifications of <paramref name="eventName"/> are POSTed to.</summary>
    public string EndpointFor(string eventName) => NotificationEndpoint ?? "/" + eventName;

    /// <summary>Reads the annotations, reporting each bad one by its path; never throws.</summary>
    public static S3Delivery Read(IReadOnlyDictionary<string, string>? annotations, Action<string, string> fail)
    {
        annotations ??= new Dictionary<string, string>();
        static string At(string name) => $"metadata.annotations.{name}";
        foreach (var name in annotations.Keys)
            if (name.StartsWith(Prefix, StringComparison.Ordinal) && !KnownAnnotations.Contains(name))
                fail(At(name), $"unknown annotation; known: {string.Join(", ", KnownAnnotations)}");

        var interval = DefaultPollInterval;
        if (annotations.TryGetValue(PollIntervalAnnotation, out var i))
        {
            if (!Durations.TryParse(i, out interval)) fail(At(PollIntervalAnnotation), $"'{i}' is not a duration like 10s, 2m or 1h");
            else if (interval < MinPollInterval || interval > MaxPollInterval)
                fail(At(PollIntervalAnnotation), $"'{i}' is out of range: polls run every 1s to 24h");
        }

        var max = DefaultPollMaxObjects;
        if (annotations.TryGetValue(PollMaxObjectsAnnotation, out var m)
            && (!int.TryParse(m, NumberStyles.None, CultureInfo.InvariantCulture, out max) || max is < 1 or > MaxPollMaxObjects))
            fail(At(PollMaxObjectsAnnotation), $"'{m}' is not a number of objects from 1 to {MaxPollMaxObjects}");

        int? port = null;
        if (annotations.TryGetValue(NotificationPortAnnotation, out var p))
        {
            if (int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 65535) port = n;
            else fail(At(NotificationPortAnnotation), $"'{p}' is not a port number (1-65535)");
        }

        annotations.TryGetValue(NotificationEndpointAnnotation, out var endpoint);
        if (endpoint is not null)
        {
            if (!endpoint.StartsWith('/')) fail(At(NotificationEndpointAnnotation), $"'{endpoint}' must start with '/'");
            else if (endpoint == "/health") fail(At(NotificationEndpointAnnotation), "/health is reserved for the listener's health check");
        }

        SecretKeySelector? token = null;
        if (annotations.TryGetValue(NotificationTokenAnnotation, out var t))
        {
            var slash = t.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && slash < t.Length - 1 && t.IndexOf('/', slash + 1) < 0) token = new SecretKeySelector { Name = t[..slash], Key = t[(slash + 1)..] };
            else fail(At(NotificationTokenAnnotation), $"'{t}' is not a Secret key reference of the form secretName/key");
        }

        var hasPort = annotations.ContainsKey(NotificationPortAnnotation);
        foreach (var name in new[] { NotificationEndpointAnnotation, NotificationTokenAnnotation })
            if (!hasPort && annotations.ContainsKey(name))
                fail(At(name), $"applies to notifications only: set {NotificationPortAnnotation} too, or remove it");
        foreach (var name in new[] { PollIntervalAnnotation, PollMaxObjectsAnnotation })
            if (hasPort && annotations.ContainsKey(name))
                fail(At(name), $"applies to polling only, but {NotificationPortAnnotation} selects notifications: remove one of them");

        return new S3Delivery(interval, max, port, endpoint, token);
    }

    /// <summary>As <see cref="Read"/>, throwing on the first problem (for a listener started without validation).</summary>
    public static S3Delivery Require(IReadOnlyDictionary<string, string>? annotations)
    {
        var errors = new List<string>();
        var delivery = Read(annotations, (path, reason) => errors.Add($"{path}: {reason}"));
        return errors.Count == 0 ? delivery : throw new InvalidOperationException(string.Join("; ", errors));
    }
}
