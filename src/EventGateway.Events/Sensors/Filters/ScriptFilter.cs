using System.Text.Json;
using EventGateway.Languages;
using EventGateway.Languages.Lua;

namespace EventGateway.Events.Sensors.Filters;

/// <summary>
/// Argo's <c>filters.script</c>: a Lua script run with the event data as the global <c>event</c>. Only a returned
/// <c>true</c> passes; false or any other value is a miss (as in Argo); a Lua error or an exceeded budget is a
/// filter error. An event without data passes without running the script, as in Argo.
/// </summary>
internal static class ScriptFilter
{
    public static KindOutcome Evaluate(string script, JsonElement? data)
    {
        if (data is not { } root)
        {
            return KindOutcome.Pass;
        }

        try
        {
            var (passed, reason) = LuaScript.Filter(script, root);
            return passed ? KindOutcome.Pass : KindOutcome.NoMatch($"script filter {reason}");
        }
        catch (TransformException e)
        {
            return KindOutcome.Error("script", e.Message);
        }
    }
}
