namespace EventGateway.Languages.Lua;

/// <summary>
/// Trusted Lua run once per Lua state, with the standard libraries open, before any script. It captures what
/// scripts may use, empties the real global table, and returns the function that builds each run's fresh
/// globals (library tables are copied for a run when it first uses them, so one run's edits never reach the
/// next), plus the metatable that marks tables made from JSON arrays.
/// </summary>
/// <remarks>
/// The instruction budget is enforced by a count hook that yields the running coroutine; it cannot stop Lua code
/// that C library functions call back into without a yield point (sort comparators, gsub replacement functions,
/// metamethods invoked from table.* or tostring), and hooks do not run in __gc finalizers at all. So metatables
/// in scripts may hold no functions, table.sort and the function form of string.gsub are written in Lua, and
/// xpcall calls its handler from Lua.
/// </remarks>
internal static class LuaPrelude
{
    public const string Source = """
        local next, type, error, rawget, rawset, tostring, pcall = next, type, error, rawget, rawset, tostring, pcall
        local raw_setmetatable, raw_getmetatable = setmetatable, getmetatable
        local pack, unpack, concat = table.pack, table.unpack, table.concat
        local find, sub, native_gsub = string.find, string.sub, string.gsub
        local min, huge = math.min, math.huge

        -- metatable handed to the script -> the table the script passed (weak: garbage stays garbage)
        local origin = raw_setmetatable({}, { __mode = "k" })

        local function safe_setmetatable(t, mt)
          if type(t) ~= "table" then
            error("bad argument #1 to 'setmetatable' (table expected, got " .. type(t) .. ")", 2)
          end
          if mt == nil then return raw_setmetatable(t, nil) end
          if type(mt) ~= "table" then
            error("bad argument #2 to 'setmetatable' (nil or table expected, got " .. type(mt) .. ")", 2)
          end
          local copy = {}
          for k, v in next, mt do
            if type(v) == "function" or k == "__gc" or k == "__close" then
              error("metatable field '" .. tostring(k) .. "' is not allowed: metatables in scripts may not hold functions", 2)
            end
            copy[k] = v
          end
          origin[copy] = mt
          return raw_setmetatable(t, copy)
        end

        -- the real metatables stay out of reach: later edits by the script cannot add functions to them
        local function safe_getmetatable(v)
          local mt = raw_getmetatable(v)
          if type(mt) ~= "table" then return mt end
          local o = origin[mt]
          if o ~= nil then return o end
          local copy = {}
          for k, x in next, mt do copy[k] = x end
          return copy
        end

        -- stable merge sort; the comparator is called from Lua, where the budget applies
        local function lua_sort(t, lt)
          if type(t) ~= "table" then error("bad argument #1 to 'sort' (table expected, got " .. type(t) .. ")", 2) end
          if lt ~= nil and type(lt) ~= "function" then
            error("bad argument #2 to 'sort' (function expected, got " .. type(lt) .. ")", 2)
          end
          local n = #t
          if n < 2 then return end
          lt = lt or function(a, b) return a < b end
          local src, dst = {}, {}
          for i = 1, n do src[i] = t[i] end
          local width = 1
          while width < n do
            local i = 1
            while i <= n do
              local mid, hi = min(i + width, n + 1), min(i + 2 * width, n + 1)
              local a, b, k = i, mid, i
              while a < mid and b < hi do
                if lt(src[b], src[a]) then dst[k] = src[b]; b = b + 1 else dst[k] = src[a]; a = a + 1 end
                k = k + 1
              end
              while a < mid do dst[k] = src[a]; a = a + 1; k = k + 1 end
              while b < hi do dst[k] = src[b]; b = b + 1; k = k + 1 end
              i = i + 2 * width
            end
            src, dst = dst, src
            width = width * 2
          end
          for i = 1, n do t[i] = src[i] end
        end

        -- string.gsub with a replacement function, matching Lua 5.4's rules (an empty match right after the
        -- previous match does not count); strings and tables as replacements go to the native gsub
        local function lua_gsub(s, pattern, repl, max_n)
          if type(repl) ~= "function" then return native_gsub(s, pattern, repl, max_n) end
          if type(s) == "number" then s = tostring(s) end
          if type(s) ~= "string" then error("bad argument #1 to 'gsub' (string expected, got " .. type(s) .. ")", 2) end
          if type(pattern) == "number" then pattern = tostring(pattern) end
          if type(pattern) ~= "string" then
            error("bad argument #2 to 'gsub' (string expected, got " .. type(pattern) .. ")", 2)
          end
          if max_n ~= nil and type(max_n) ~= "number" then
            error("bad argument #4 to 'gsub' (number expected, got " .. type(max_n) .. ")", 2)
          end
          max_n = max_n or huge
          local anchor = sub(pattern, 1, 1) == "^"
          local out, n, pos, len, last_end = {}, 0, 1, #s, nil
          while n < max_n do
            local m = pack(find(s, pattern, pos))
            local st, en = m[1], m[2]
            if st == nil then break end
            if en < st and st == last_end then
              if st > len then break end
              out[#out + 1] = sub(s, pos, st)
              pos = st + 1
            else
              local whole = sub(s, st, en)
              local v
              if m.n > 2 then v = repl(unpack(m, 3, m.n)) else v = repl(whole) end
              out[#out + 1] = sub(s, pos, st - 1)
              if v == nil or v == false then
                out[#out + 1] = whole
              elseif type(v) == "string" or type(v) == "number" then
                out[#out + 1] = tostring(v)
              else
                error("invalid replacement value (a " .. type(v) .. ")", 2)
              end
              n = n + 1
              pos, last_end = en + 1, en + 1
            end
            if anchor then break end
          end
          out[#out + 1] = sub(s, pos)
          return concat(out), n
        end

        local function lua_xpcall(f, handler, ...)
          local r = pack(pcall(f, ...))
          if r[1] then return unpack(r, 1, r.n) end
          return false, handler(r[2])
        end

        local base = {
          assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
          rawequal = rawequal, rawget = rawget, rawlen = rawlen, rawset = rawset, select = select,
          tonumber = tonumber, tostring = tostring, type = type, _VERSION = _VERSION,
          getmetatable = safe_getmetatable, setmetatable = safe_setmetatable, xpcall = lua_xpcall,
          print = function() end,
        }
        local libs = {}
        for _, name in next, { "string", "table", "math", "utf8", "coroutine" } do
          local copy = {}
          for k, v in next, _G[name] do copy[k] = v end
          libs[name] = copy
        end
        libs.string.dump = nil
        libs.string.gsub = lua_gsub
        libs.table.sort = lua_sort

        -- method calls on strings use the pristine library, which no script can reach or change
        local string_mt = raw_getmetatable("")
        string_mt.__metatable = false
        string_mt.__index = libs.string

        -- each run's globals: the base functions, and a private copy of a library the first time it is used
        local function new_env()
          return raw_setmetatable({}, { __index = function(env, k)
            local v = base[k]
            if v == nil then
              local lib = libs[k]
              if lib ~= nil then
                v = {}
                for name, f in next, lib do v[name] = f end
              elseif k == "_G" then
                v = env
              else
                return nil
              end
            end
            rawset(env, k, v)
            return v
          end })
        end

        local globals = _G
        for k in next, globals do globals[k] = nil end
        return new_env, { __is_array = true }
        """;
}
