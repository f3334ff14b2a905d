module cfutures

go 1.19
