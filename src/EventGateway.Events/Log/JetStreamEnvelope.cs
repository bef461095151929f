using System.Text;

namespace EventGateway.Events.Log;

/// <summary>
/// How an event sits in a JetStream message: the NATS subject carries namespace, source and subject (so the
/// server filters queries), the payload carries the whole envelope in a small binary form (no headers to parse
/// on read, data without base64). The format starts with a version byte so it can change without a migration.
/// </summary>
internal static class JetStreamEnvelope
{
    /// <summary>2 adds the trace context (empty: none) before the data; version 1 envelopes are still read.</summary>
    private const byte Version = 2;

    /// <summary>A subject token for any string: base64url never contains '.', '*', '>' or whitespace; "_" stands for empty.</summary>
    public static string Token(string value) =>
        value.Length == 0 ? "_" : Convert.ToBase64String(Encoding.UTF8.GetBytes(value)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Subject(string prefix, string ns, CloudEvent e) => $"{prefix}.{Token(ns)}.{Token(e.Source)}.{Token(e.Subject)}";

    /// <summary>The narrowest subject filter for a query; null parts match anything.</summary>
    public static string Filter(string prefix, string? ns, string? source, string? subject) =>
        $"{prefix}.{(ns is null ? "*" : Token(ns))}.{(source is null ? "*" : Token(source))}.{(subject is null ? "*" : Token(subject))}";

    public static byte[] Encode(string ns, CloudEvent e, DateTimeOffset received)
    {
        using var ms = new MemoryStream(e.Data.Length + 128);
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Version);
            w.Write(ns); w.Write(e.Id); w.Write(e.Source); w.Write(e.Type); w.Write(e.Subject); w.Write(e.DataContentType);
            w.Write(e.Time.ToUnixTimeMilliseconds());
            w.Write(received.ToUnixTimeMilliseconds());
            w.Write(e.TraceParent ?? "");
            w.Write(e.Data.Span);
        }
        return ms.ToArray();
    }

    public static LoggedEvent Decode(long sequence, ReadOnlyMemory<byte> payload)
    {
        using var ms = new MemoryStream(payload.ToArray(), writable: false);
        using var r = new BinaryReader(ms, Encoding.UTF8);
        var version = r.ReadByte();
        if (version is not (1 or Version)) throw new InvalidDataException($"event {sequence} in the stream has envelope version {version}; this build reads version {Version}");
        var (ns, id, source, type, subject, contentType) = (r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString());
        var time = DateTimeOffset.FromUnixTimeMilliseconds(r.ReadInt64());
        var received = DateTimeOffset.FromUnixTimeMilliseconds(r.ReadInt64());
        var traceParent = version >= 2 && r.ReadString() is { Length: > 0 } tp ? tp : null;
        var data = payload[(int)ms.Position..].ToArray();
        return new LoggedEvent(sequence, ns, new CloudEvent(id, source, type, subject, time, data, contentType, traceParent), received);
    }
}
