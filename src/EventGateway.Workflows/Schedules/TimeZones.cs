namespace EventGateway.Workflows.Schedules;

/// <summary>IANA time zones as schedules name them (CronWorkflow <c>timezone</c>, calendar event source <c>timezone</c>).</summary>
public static class TimeZones
{
    public static bool TryFind(string id, out TimeZoneInfo zone, out string error)
    {
        zone = TimeZoneInfo.Utc;
        error = "";
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            error = $"'{id}' is not a known IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)";
            return false;
        }
    }
}
