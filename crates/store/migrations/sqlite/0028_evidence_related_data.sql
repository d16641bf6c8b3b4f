-- TCO Art. 6(1) (issue 16): the related data the platform's own systems hold on removed content
-- (upload time, account), as its preservation webhook answered, JSON; or why it could not.
ALTER TABLE evidence ADD COLUMN related_data TEXT;
