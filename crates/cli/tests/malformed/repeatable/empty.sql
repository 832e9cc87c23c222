-- message: nothing

-- only a comment
