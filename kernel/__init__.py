"""The ground floor: helpers with no business meaning that every app may use. It imports no app of ours."""
