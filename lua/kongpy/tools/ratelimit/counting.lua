-- The check-and-count loop the counting policies share: add `n` to every
-- window's counter; when one passes its limit (or a counter fails), give
-- back what was added, so a refused request counts nowhere.
local _M = {}

-- consume(entries, n, add, undo, a, b) -> counts, stop, err
--   add(a, b, entry, n) -> the counter's total after adding, or nil, err
--   undo(a, b, entry, n) takes back what add added
-- `counts` are the totals before this request; `stop` the index of the
-- first counter that passed its limit (nothing stays added then).
function _M.consume(entries, n, add, undo, a, b)
    local counts, stop, done, err = {}, nil, 0, nil
    for i = 1, #entries do
        local e = entries[i]
        local total
        total, err = add(a, b, e, n)
        if not total then
            break
        end
        done = i
        counts[i] = total - n
        if not stop and total > e.limit then
            stop = i
        end
    end
    if stop or err then
        for i = 1, done do
            undo(a, b, entries[i], n)
        end
        if err then
            return nil, nil, err
        end
    end
    return counts, stop
end

-- increment(entries, n, add, a, b) -> true, or nil, err: add to every
-- counter, no limit checked (what a response tells after the fact).
function _M.increment(entries, n, add, a, b)
    for i = 1, #entries do
        local ok, err = add(a, b, entries[i], n)
        if not ok then
            return nil, err
        end
    end
    return true
end

return _M
