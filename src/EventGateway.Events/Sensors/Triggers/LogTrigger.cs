using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// Argo Events' <c>log</c> trigger: writes each event of the firing to the log (sensor, trigger, dependency, the
/// event's context and its data). With <c>intervalSeconds</c>, a firing less than that long after the last
/// logged one of the same trigger succeeds without logging, as Argo's does.
/// </summary>
public sealed partial class LogTrigger : ITrigger
{
    private const string At = "template.log";

    private readonly Lock _gate = new();

    /// <summary>When each trigger last logged: the one piece of state Argo's throttling needs.</summary>
    private readonly Dictionary<(string Namespace, string Sensor, string Trigger), DateTimeOffset> _lastLogged = [];

    public string Kind => "log";

    public Task<TriggerResult> FireAsync(TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(firing);
        ArgumentNullException.ThrowIfNull(context);
        var interval = Resolve(firing);
        var now = context.Time.GetUtcNow();
        var key = (firing.Namespace, firing.Sensor.Name, firing.TriggerName);
        lock (_gate)
        {
            // Argo logs when now is after last + interval; with no interval every firing logs.
            if (interval > TimeSpan.Zero && _lastLogged.TryGetValue(key, out var last) && now <= last + interval)
            {
                var note = $"not logged: within intervalSeconds {interval.TotalSeconds:0} of the last log at {Rfc3339(last)}";
                return Task.FromResult(new TriggerResult(note));
            }

            _lastLogged[key] = now;
        }

        foreach (var (dependency, e) in firing.Events.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Log.Event(context.Logger, firing.Namespace, firing.Sensor.Name, firing.TriggerName, dependency,
                e.Id, e.Source, e.Subject, e.Type, Rfc3339(e.Time), Encoding.UTF8.GetString(e.Data.Span));
        }

        return Task.FromResult(new TriggerResult($"logged {firing.Events.Count} event(s)"));
    }

    private static string Rfc3339(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>The throttling interval from <c>template.log.intervalSeconds</c> (zero when unset).</summary>
    private static TimeSpan Resolve(TriggerFiring firing)
    {
        var problems = new List<string>();
        void Fail(string path, string reason) => problems.Add($"{path}: {reason}");
        var spec = firing.Trigger.Template?.Log is { } json ? TriggerSpec.Read<LogTriggerSpec>(json, At, Fail) : new LogTriggerSpec();
        if (spec is null) throw TriggerSpec.Refusal(problems);
        spec.Validate(At, Fail);
        if (problems.Count > 0) throw TriggerSpec.Refusal(problems);
        return TimeSpan.FromSeconds(spec.IntervalSeconds ?? 0);
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information,
            Message = "{SensorNamespace}/{Sensor} trigger {Trigger}: dependency {Dependency} event {EventId} (source {EventSource}, subject {EventSubject}, type {EventType}, time {EventTime}): {Data}")]
        public static partial void Event(ILogger logger, string sensorNamespace, string sensor, string trigger, string dependency,
            string eventId, string eventSource, string eventSubject, string eventType, string eventTime, string data);
    }
}

/// <summary>Argo's <c>LogTrigger</c>, read from <c>template.log</c>.</summary>
internal sealed class LogTriggerSpec
{
    /// <summary>At most one firing of the trigger is logged per this many seconds; 0 or unset logs every firing.</summary>
    public long? IntervalSeconds { get; set; }

    public void Validate(string at, Action<string, string> fail)
    {
        // Bounded so that last + interval cannot overflow a DateTimeOffset.
        if (IntervalSeconds is < 0 or > 100L * 365 * 24 * 3600)
            fail($"{at}.intervalSeconds", $"must be a number of seconds from 0 (log every firing) to 100 years, got {IntervalSeconds}");
    }
}
