// Zod contracts of the metrics API, shared by the API (route schemas) and the dashboard (parse()).
export {}
