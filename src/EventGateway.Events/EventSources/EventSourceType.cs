using EventGateway.Model;

namespace EventGateway.Events.EventSources;

/// <summary>
/// One kind of event an EventSource can declare, a key under <c>spec</c> (webhook, kafka, ...): where
/// its events sit in the spec, how their settings are checked at load, and what listens for them.
/// <see cref="SourceTypes.All"/> lists every one this service runs.
/// </summary>
public interface IEventSourceType
{
    /// <summary>Argo's spec key, also the CloudEvent type of the events.</summary>
    string Name { get; }

    /// <summary>This type's events in <paramref name="spec"/>, in the manifest's order.</summary>
    IEnumerable<DeclaredEvent> EventsIn(EventSourceSpec spec);
}

/// <summary>An event declared under a source type's key, bound to the type that checks and runs its settings.</summary>
public abstract class DeclaredEvent(IEventSourceType type, string name)
{
    public IEventSourceType Type { get; } = type;
    public string Name { get; } = name;

    /// <summary>False for a name with nothing under it (<c>push:</c> alone), which has nothing to check or run.</summary>
    public abstract bool HasSettings { get; }

    /// <summary>Checks the settings, reporting each problem by its field path under <paramref name="at"/>.</summary>
    public abstract void Validate(string at, Action<string, string> fail);

    public abstract IEventListener Listen();
}

/// <summary>A source type whose events are <typeparamref name="TSettings"/> under one key of the spec.</summary>
public abstract class EventSourceType<TSettings>(string name) : IEventSourceType where TSettings : class
{
    public string Name { get; } = name;

    /// <summary>This type's key of the spec, e.g. <c>spec.Kafka</c>.</summary>
    protected abstract Dictionary<string, TSettings>? EventsOf(EventSourceSpec spec);

    /// <summary>Checks one event's settings; shared checks (names, ports) are the validator's.</summary>
    public abstract void Validate(string at, TSettings settings, Action<string, string> fail);

    /// <summary>The listener of one event whose settings passed <see cref="Validate(string, TSettings, Action{string, string})"/>.</summary>
    public abstract IEventListener Listen(TSettings settings);

    public IEnumerable<DeclaredEvent> EventsIn(EventSourceSpec spec) =>
        (EventsOf(spec) ?? []).Select(e => new Declared(this, e.Key, e.Value));

    private sealed class Declared(EventSourceType<TSettings> type, string name, TSettings? settings) : DeclaredEvent(type, name)
    {
        public override bool HasSettings => settings is not null;
        public override void Validate(string at, Action<string, string> fail) => type.Validate(at, Settings, fail);
        public override IEventListener Listen() => type.Listen(Settings);

        private TSettings Settings => settings ?? throw new InvalidOperationException($"{type.Name} event '{Name}' has no settings");
    }
}
