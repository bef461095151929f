using Microsoft.Data.Sqlite;
using EventGateway.Events.Log;

namespace EventGateway.Server.Api;

/// <summary>Which exceptions mean "the data directory cannot take writes now" (a 503, retry later) rather than a bug.</summary>
internal static class StorageFailure
{
    // SQLite result codes: BUSY 5, LOCKED 6, NOMEM 7, READONLY 8, IOERR 10, CORRUPT 11, FULL 13, CANTOPEN 14.
    private static readonly int[] StorageCodes = [5, 6, 8, 10, 13, 14];

    private const int DiskFull = 28; // ENOSPC
    private const int QuotaExceeded = 122; // EDQUOT

    /// <summary>A short reason when <paramref name="e"/> (or an exception inside it) is a storage failure; else null.</summary>
    public static string? Describe(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case SqliteException s when StorageCodes.Contains(s.SqliteErrorCode):
                    return s.SqliteErrorCode == 13 ? "disk is full" : $"SQLite error {s.SqliteErrorCode}: {s.Message.ReplaceLineEndings(" ")}";
                case IOException io when (io.HResult & 0xFFFF) is DiskFull or QuotaExceeded:
                    return "disk is full";
                case EventLogUnavailableException ev:
                    return ev.Message;
                // The shared store: a connection that cannot be made or was lost (a server error such as a constraint
                // violation is a bug, not an outage, unless PostgreSQL calls it transient, e.g. an admin shutdown).
                case Npgsql.PostgresException pg when !pg.IsTransient:
                    return null;
                case Npgsql.NpgsqlException pg:
                    return $"PostgreSQL does not answer: {pg.Message.ReplaceLineEndings(" ")}";
                case System.Net.Sockets.SocketException socket:
                    return $"PostgreSQL does not answer: {socket.Message}";
            }
        }
        return null;
    }
}
